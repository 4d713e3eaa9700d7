"""What every tab builder receives: settings, and a way to reach other tabs' widgets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import gradio as gr

from studio.settings import Settings
from studio.ui.auth import Caller, caller, require_admin, require_signed_in


@dataclass
class AppContext:
    settings: Settings
    demo: gr.Blocks | None = None  # the app being built, for load events
    tabs: gr.Tabs | None = None
    # Widgets a tab offers to others, e.g. "compare.model_b" for "Compare with base".
    shared: dict[str, gr.components.Component] = field(default_factory=dict)
    _after_build: list[Callable[[], None]] = field(default_factory=list)

    def after_build(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` inside the Blocks once every tab exists (for cross-tab events)."""
        self._after_build.append(hook)

    def run_after_build(self) -> None:
        for hook in self._after_build:
            hook()

    @property
    def generation(self) -> dict:
        """Event options for handlers that generate through the scheduler: as many run at once as it can
        batch and queue (it answers "the studio is busy" beyond that), apart from the "model" group."""
        return {"concurrency_id": "generate", "concurrency_limit": self.settings.gen_max_batch + self.settings.gen_queue}

    def caller(self, request: gr.Request | None) -> Caller:
        return caller(request, self.settings)

    def require_admin(self, request: gr.Request | None) -> Caller:
        return require_admin(request, self.settings)

    def require_signed_in(self, request: gr.Request | None, message: str | None = None) -> Caller:
        if message:
            return require_signed_in(request, self.settings, message)
        return require_signed_in(request, self.settings)
