"""A scripted source and destination for testing the engine without Prefect or the network.

The destination keeps what it received in memory and counts every delivery per item, so a test
can prove that nothing was sent twice. Faults are scripted per call: raise a RetryableError
(with Retry-After) for a whole call, fail single items retryably, or "crash" the process right
after the destination accepted an item but before ferry heard the answer (``Crash`` is a
BaseException, like the end of a process: the engine does not catch it).
"""

from __future__ import annotations

import io
import threading
from collections import Counter
from dataclasses import dataclass, field

from connectors import registry
from connectors.base import Cursor, Exporter, Found, Importer, ItemOutcome, Page, RepeatSafety
from connectors.errors import RetryableError
from connectors.models import MediaAlbum, Photo, Vertical, stable_id
from connectors.registry import Capabilities, Connector


class Crash(BaseException):
    """The process dies here (kill -9): nothing after this point runs."""


class FakeClock:
    """Time that moves only when the engine sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []
        self.stop = threading.Event()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.now += seconds
        return not self.stop.is_set()


class ScriptCursor(Cursor):
    offset: int


@dataclass
class Script:
    """What the fake source holds and how the fake destination misbehaves."""

    photos: int = 10
    page_size: int = 4
    safety: RepeatSafety = RepeatSafety.FINDS
    busy_calls: list[float | None] = field(default_factory=list)  # per import call: raise RetryableError(retry_after=value)
    list_busy: int = 0  # list_page calls that raise RetryableError
    item_failures: Counter = field(default_factory=Counter)  # item title -> retryable failures left
    crash_after_accepting: str | None = None  # title: accepted, then the process dies
    stop_after: str | None = None  # title: after its outcome, ask the engine to stop (Ctrl-C)
    received: Counter = field(default_factory=Counter)  # title -> deliveries the destination accepted
    calls: int = 0
    stop_event: threading.Event | None = None

    def items(self):
        album = MediaAlbum(id=stable_id("script", "album"), name="Trip")
        photos = [
            Photo(id=stable_id("script", i), album_id=album.id, title=f"p{i}.jpg", mime_type="image/jpeg", size=3, ref=str(i), file_name=f"p{i}.jpg")
            for i in range(self.photos)
        ]
        return [album, *photos]


class ScriptExporter(Exporter):
    cursor_model = ScriptCursor

    def __init__(self, script: Script):
        self.script = script

    def list_page(self, vertical, cursor):
        if self.script.list_busy:
            self.script.list_busy -= 1
            raise RetryableError("the source answered 503", retry_after=2)
        items = self.script.items()
        start = cursor.offset if cursor else 0
        end = min(start + self.script.page_size, len(items))
        return Page(items=tuple(items[start:end]), next=ScriptCursor(offset=end) if end < len(items) else None, total_hint=len(items))

    def open_bytes(self, item):
        return io.BytesIO(b"abc")


class ScriptImporter(Importer):
    def __init__(self, script: Script):
        self.script = script

    def offered_repeat_safety(self, declared: RepeatSafety) -> RepeatSafety:
        return self.script.safety

    def find(self, item, ctx):
        return Found(item.display_name) if self.script.received[item.display_name] else None

    def import_page(self, items, ctx):
        script = self.script
        script.calls += 1
        busy = script.busy_calls.pop(0) if script.busy_calls else False
        for n, item in enumerate(items):
            if busy is not False and n == 1:
                raise RetryableError("429 Too Many Requests", retry_after=busy)
            name = item.display_name
            if script.item_failures[name] > 0:
                script.item_failures[name] -= 1
                yield ItemOutcome.failed(item.id, f"{name}: HTTP 503", retryable=True)
                continue
            if script.safety == RepeatSafety.RECOGNISES and script.received[name]:
                yield ItemOutcome.skipped(item.id, name)
                continue
            script.received[name] += 1
            if name == script.crash_after_accepting:
                script.crash_after_accepting = None
                raise Crash(name)
            yield ItemOutcome.imported(item.id, name, 3)
            if name == script.stop_after and script.stop_event is not None:
                script.stop_event.set()


def register_script(script: Script) -> None:
    registry.register(
        Connector(
            name="script",
            title="Scripted test connector",
            capabilities=Capabilities(exports=frozenset({Vertical.PHOTOS}), imports=frozenset({Vertical.PHOTOS}), repeat_safety=script.safety),
            make_exporter=lambda ctx: ScriptExporter(script),
            make_importer=lambda ctx: ScriptImporter(script),
        )
    )


def run_flow(job_id: str, **params):
    """Run the ``transfer`` flow (in this process, on the session's Prefect server) and return
    the job's RunSummary, whatever state the run ended in (Completed, Failed or Paused)."""
    from flows.context import open_context
    from flows.summary import summarize
    from flows.transfer import transfer

    state = transfer(job_id=job_id, return_state=True, **params)
    summary = summarize(open_context(), job_id)
    summary_state = {"COMPLETE": "COMPLETED", "CANCELED": "COMPLETED", "FAILED": "FAILED"}.get(summary.state, "PAUSED")
    assert state.type.value == summary_state, (state, summary.state)  # Prefect shows the truth
    return summary
