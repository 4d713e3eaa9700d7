"""A hosted model's side of a side-by-side (``remote:<name>``): streamed over HTTP in its own thread.

``studio.compare.side_by_side`` merges it with the local side's scheduler stream. A remote failure
(timeout, 429, 5xx, refused connection) ends that side only: the answer carries the provider's message
in ``error`` and the other side finishes. The crisis gate runs before and the output guard after, there.
"""

from __future__ import annotations

import queue
import threading

from studio.models.generate import GenerationSettings
from studio.models.remote import RemoteError, stream_remote
from studio.settings import Settings

ERROR_MARK = "⚠️ "


class RemoteJob:
    """One remote answer streamed in a worker thread into the side-by-side queue: (side, "text", text) as it
    grows, then (side, "end", None). A failure is kept in ``error`` (the provider's message), never raised."""

    def __init__(self, ref: str, messages: list[dict], gen: GenerationSettings, settings: Settings, sink: queue.Queue,
                 stop: threading.Event, row: int):
        self.ref, self.messages, self.gen, self.settings = ref, messages, gen, settings
        self.sink, self.stop, self.row_offset = sink, stop, row
        self.text, self.error, self.stats = "", "", {}
        self.thread = threading.Thread(target=self._work, daemon=True)

    def _work(self) -> None:
        stream = stream_remote(self.ref, self.messages, self.gen, self.settings, self.stats)
        try:
            for self.text in stream:
                self.sink.put((self.row_offset, "text", self.text))
                if self.stop.is_set():
                    break  # the viewer went away: stop reading (the connection is closed below)
        except RemoteError as exc:
            self.error = str(exc)
        except Exception as exc:  # never leave the other side waiting on a crashed thread
            self.error = f"{self.ref} failed: {type(exc).__name__}"
        finally:
            stream.close()
            self.sink.put((self.row_offset, "end", None))
