"""build_app(settings) -> gr.Blocks: the header, the disclosure and one tab per feature."""

from __future__ import annotations

import importlib
import logging
import os

import gradio as gr

from studio.safety import DISCLOSURE, header_line, safety_status
from studio.settings import Settings
from studio.ui.auth import auth_mode, password_check
from studio.ui.context import AppContext
from studio.ui.errors import guard_app
from studio.ui.invites import middleware as invite_middleware
from studio.ui.openai_api import middleware as openai_middleware
from studio.util.redact import install_log_redaction
from studio.util.schema import check_schema

log = logging.getLogger(__name__)


# (tab id, title, module, admin only). Order is the order on screen.
TABS: list[tuple[str, str, str, bool]] = [
    ("chat", "Chat", "studio.ui.tabs.chat", False),
    ("dataset", "Dataset", "studio.ui.tabs.dataset", True),
    ("train", "Train", "studio.ui.tabs.train", True),
    ("compare", "Compare", "studio.ui.tabs.compare", True),
    ("arena", "Arena", "studio.ui.tabs.arena", False),
    ("knowledge", "Knowledge", "studio.ui.tabs.knowledge", True),
]

CSS = """
#disclosure {background: #fff7e6; border: 1px solid #f0c36d; border-radius: 8px; padding: 6px 12px;}
#disclosure p {margin: 0;}
#tabs [role=tab][aria-disabled=true] {display: none;}
"""


def _open_stores(settings: Settings) -> None:
    """Create the vote store's tables now: a first sign-in check or a refused request then only reads it."""
    from studio.compare.feedback import open_store

    open_store(settings)


def build_app(settings: Settings) -> gr.Blocks:
    check_schema(settings)  # also creates the data dir, or names the variable to fix
    _open_stores(settings)
    install_log_redaction()
    ctx = AppContext(settings)
    with gr.Blocks(title="Companion Studio") as demo:
        ctx.demo = demo
        gr.Markdown("# Companion Studio\nCurate, fine-tune, compare and chat with a careful companion for ketamine-assisted therapy.")
        if auth_mode(settings) == "oauth":
            gr.LoginButton(elem_id="login")
        gr.Markdown(f"**{DISCLOSURE}.** {header_line(settings.region)}", elem_id="disclosure")
        safety_notice = gr.Markdown(visible=False, elem_id="safety-status")
        tab_widgets: list[tuple[gr.Tab, bool]] = []
        with gr.Tabs(elem_id="tabs") as tabs:
            ctx.tabs = tabs
            for tab_id, title, module, admin_only in TABS:
                with gr.Tab(title, id=tab_id, elem_id=f"tab-{tab_id}") as tab:
                    importlib.import_module(module).build(ctx)
                tab_widgets.append((tab, admin_only))
        ctx.run_after_build()

        def visible_tabs(request: gr.Request):
            is_admin = ctx.caller(request).is_admin
            # Gradio 6.31 ignores visible=False on a Tab sent from an event but applies interactive=False;
            # the CSS hides disabled tab buttons. The handlers refuse raters regardless.
            return [gr.Tab(visible=show, interactive=show) for show in (is_admin or not a for _, a in tab_widgets)]

        demo.load(visible_tabs, outputs=[tab for tab, _ in tab_widgets], queue=False, api_visibility="private")

        def safety_state(request: gr.Request):
            """Admins see whether the safety layer is whole; a degraded one is shown to them in red."""
            if not ctx.caller(request).is_admin:
                return gr.Markdown(visible=False)
            status = safety_status(load=True)
            return gr.Markdown(value=("" if status["ok"] else "⚠️ ") + status["message"], visible=True)

        demo.load(safety_state, outputs=[safety_notice], api_visibility="private")
    demo.queue(default_concurrency_limit=4, max_size=settings.max_queue)
    return guard_app(demo, settings.data_dir)  # user errors -> messages, crashes -> logged


def launch_kwargs(settings: Settings, host: str | None = None, port: int | None = None) -> dict:
    mode = auth_mode(settings)
    env_host = os.environ.get("GRADIO_SERVER_NAME")
    # With no login configured the studio is a single local admin: never expose it beyond loopback.
    host = host or (env_host if mode != "local" else "127.0.0.1") or "127.0.0.1"
    if mode == "local" and host not in ("127.0.0.1", "localhost"):
        log.warning("No STUDIO_ADMIN_PASSWORD set: binding to 127.0.0.1 instead of %s", host)
        host = "127.0.0.1"
    kwargs = {
        "server_name": host,
        "server_port": port or int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        "css": CSS,
        "theme": gr.themes.Soft(),
        "max_file_size": f"{settings.upload_limit_mb}mb",
        "allowed_paths": [],
        # /v1/... is the OpenAI-compatible endpoint (API keys, never Gradio's login); invite links
        # (<public url>/?invite=...) sign a named rater in, unless the caller is signed in otherwise.
        "app_kwargs": {"middleware": [openai_middleware(settings),
                                      invite_middleware(settings, password_mode=mode == "password")]},
    }
    if mode == "password":
        kwargs["auth"] = password_check(settings)
        kwargs["auth_message"] = ("Companion Studio: sign in as admin, or with your name and the rater password. "
                                  "Raters with an invite link: open the link itself.")
    return kwargs


def launch(settings: Settings, host: str | None = None, port: int | None = None, share: bool = False) -> None:
    demo = build_app(settings)
    demo.launch(share=share, **launch_kwargs(settings, host, port))
