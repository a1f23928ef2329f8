"""Running one request: create (or find) the job, run the ``transfer`` flow, report what happens.

The same code serves the runner (each connection on a thread of its own, events sent over the
socket) and the in-process mode (``FERRY_RUNNER=off``: events go straight to the terminal), so
both behave alike: the same validation, the same job, the same flow run, the same summary.

A client's stop (Ctrl-C, or the connection closing because the client died) reaches the job
through a :class:`StopLink`; the job stops after its item in flight and ends PAUSED, resumable.
One process runs a job at most once at a time: a second request for a job whose first client is
gone waits for that run to stop, one for a job a live client is watching is refused (or, with
``force``, stops it and takes over).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from connectors.errors import ConfigError, FerryError

__all__ = ["Emit", "StopLink", "TransferService", "ProgressForward"]

log = logging.getLogger(__name__)

#: Sends one event (a dict, see :mod:`ferry.runner.protocol`) to the client.
Emit = Callable[[dict[str, Any]], None]


class StopLink:
    """Connects a client's stop to the job it asked for, whenever the job id becomes known."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._job: str | None = None
        self._wanted = False
        self._closed = False

    def attach(self, job_id: str) -> None:
        """The request's job is known (and this process runs it now): forward any stop to it."""
        from flows.runtime import clear_stop, request_stop

        with self._lock:
            self._job = job_id
            clear_stop(job_id)  # a stop meant for an earlier run of this job is not for this one
            if self._wanted:
                request_stop(job_id)

    def stop(self) -> None:
        """The client wants the job to stop after the item in flight (or is gone)."""
        from flows.runtime import request_stop

        with self._lock:
            if self._closed or self._wanted:
                return
            self._wanted = True
            if self._job is not None:
                request_stop(self._job)

    def close(self) -> None:
        """The run is over: a late hang-up must not stop a later run of the same job."""
        with self._lock:
            self._closed = True

    @property
    def wanted(self) -> bool:
        return self._wanted


class ProgressForward:
    """Forwards one job's progress events to the client, batched every ``interval`` seconds.

    Why batched: an importer reports bytes per chunk (thousands per second); one message per
    tenth of a second keeps the socket and the terminal cheap whatever the rate.
    """

    def __init__(self, job_id: str, emit: Emit, *, interval: float = 0.1):
        self.job_id, self.emit, self.interval = job_id, emit, interval
        self._pending: list[list[Any]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, job_id: str, kind: str, value: object) -> None:
        if job_id != self.job_id:
            return
        with self._lock:
            last = self._pending[-1] if self._pending else None
            if last is not None and last[0] == kind and kind in ("items", "bytes", "expect_items", "expect_bytes", "download_bytes"):
                last[1] += value
            else:
                self._pending.append([kind, value])

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self.emit({"event": "progress", "events": batch})

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            self.flush()

    def __enter__(self) -> "ProgressForward":
        from flows.progress import subscribe

        subscribe(self)
        self._thread = threading.Thread(target=self._run, name=f"progress-{self.job_id[:8]}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        from flows.progress import unsubscribe

        unsubscribe(self)
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


class _Run:
    def __init__(self, link: StopLink):
        self.link = link
        self.lock = threading.Lock()


class TransferService:
    """Handles transfer and resume requests (see :mod:`ferry.runner.protocol`).

    Args:
        heartbeat: keep Prefect's flow-run heartbeat. The runner turns it off unless the
            operator set ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``: a sync flow run waits up to 1 s
            for its heartbeat thread at exit, and a run whose process died is marked Crashed by
            the next run of its job instead (flows.transfer).
    """

    def __init__(self, *, heartbeat: bool = True):
        self.heartbeat = heartbeat
        self._no_heartbeat: tuple[Any, Any] | None = None  # (base settings, the same with the heartbeat off)
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def running(self) -> list[str]:
        with self._lock:
            return [job_id for job_id, run in self._runs.items() if run.lock.locked()]

    def handle(self, request: dict[str, Any], emit: Emit, link: StopLink, ctx=None) -> None:
        """Run one request to its end, reporting through ``emit``; never raises.

        ``ctx``: the caller's context (in-process mode); the runner builds one per request
        from the settings the command sent.
        """
        from flows.store import LeaseLost

        try:
            if ctx is None:
                from flows.context import open_context

                from .protocol import settings_from_payload

                ctx = open_context(settings_from_payload(request["settings"]))
            op = request.get("op")
            if op == "transfer":
                job_id = self._create(ctx, request, emit)
            elif op == "resume":
                job_id = self._prepare_resume(ctx, request, emit)
            else:
                raise ConfigError(f"unknown request {op!r}")
            self._run(ctx, job_id, request, emit, link)
        except (ConfigError, LookupError) as exc:
            emit({"event": "error", "code": 2, "message": str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)})
        except (FerryError, LeaseLost) as exc:
            emit({"event": "error", "code": 3, "message": str(exc)})
        except Exception as exc:  # noqa: BLE001 - the client gets one line; the log keeps the trace
            log.exception("request failed")
            emit({"event": "error", "code": 3, "message": f"{type(exc).__name__}: {exc}"})

    # -- requests ---------------------------------------------------------------------------

    def _create(self, ctx, request: dict[str, Any], emit: Emit) -> str:
        from flows.requests import create_job

        job = create_job(
            ctx,
            request["source"],
            request["destination"],
            request.get("types") or [],
            options=request.get("options") or {},
            source_credential_id=request.get("source_credential_id"),
            destination_credential_id=request.get("destination_credential_id"),
        )
        emit({"event": "job", "id": job.id, "source": job.source, "destination": job.destination, "types": list(job.types), "state": job.state.value})
        return job.id

    def _prepare_resume(self, ctx, request: dict[str, Any], emit: Emit) -> str:
        from flows.store import JobState

        found = ctx.jobs.get(str(request["job"]))
        if found.state == JobState.CANCELED:
            raise ConfigError(f"job {found.id[:8]} was canceled; start a new transfer instead")
        emit({"event": "job", "id": found.id, "source": found.source, "destination": found.destination, "types": list(found.types), "state": found.state.value})
        if found.state == JobState.COMPLETE and not request.get("retry_failed"):
            emit({"event": "note", "text": f"Job {found.id[:8]} is already complete."})
        if request.get("retry_failed"):
            ctx.ledger.reset_cursors(found.id)
            if found.state == JobState.COMPLETE:
                ctx.jobs.transition(found.id, JobState.PAUSED, "retrying failed items")
        return found.id

    # -- running ----------------------------------------------------------------------------

    def _claim(self, job_id: str, link: StopLink, force: bool) -> _Run:
        """This process's run slot for ``job_id`` (waits for a run whose client is gone)."""
        from flows.runtime import request_stop

        with self._lock:
            previous = self._runs.get(job_id)
            if previous is not None and previous.lock.locked() and not previous.link.wanted:
                if not force:
                    raise FerryError(
                        f"job {job_id[:8]} is running for another ferry command; wait for it, or stop it there (Ctrl-C), or use --force"
                    )
                previous.link.stop()
                request_stop(job_id)
            run = previous if previous is not None else _Run(link)
            self._runs[job_id] = run
        run.lock.acquire()
        run.link = link
        return run

    def _run(self, ctx, job_id: str, request: dict[str, Any], emit: Emit, link: StopLink) -> None:
        from flows.runtime import bind_context
        from flows.store import JobState, utcnow
        from flows.summary import summarize

        run = self._claim(job_id, link, bool(request.get("force")))
        try:
            link.attach(job_id)
            progress = ProgressForward(job_id, emit) if request.get("progress") else None
            with bind_context(job_id, ctx), self._heartbeat():
                if progress is not None:
                    with progress:
                        self._flow(job_id, bool(request.get("force")))
                else:
                    self._flow(job_id, bool(request.get("force")))
            summary = summarize(ctx, job_id)
            job = ctx.jobs.get(job_id)
            wake_in = max(0.0, (job.wake_at - utcnow()).total_seconds()) if job.state == JobState.WAITING and job.wake_at else None
            emit({"event": "done", "summary": summary.model_dump(mode="json"), "interrupted": link.wanted, "wake_in": wake_in})
        finally:
            link.close()
            run.lock.release()

    @staticmethod
    def _flow(job_id: str, force: bool) -> None:
        from flows.transfer import transfer

        transfer(job_id=job_id, force=force, return_state=True)

    def _heartbeat(self):
        """Prefect's settings with the flow-run heartbeat off, for one run.

        What ``temporary_settings`` does, with the changed settings built once per base settings
        instead of per run: building them re-reads Prefect's profiles, environment and dotenv
        files, about 0.04 s of every warm command.
        """
        import contextlib

        if self.heartbeat:
            return contextlib.nullcontext()
        import prefect.context
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

        current = prefect.context.get_settings_context()
        cached = self._no_heartbeat
        if cached is None or cached[0] is not current.settings:
            cached = (current.settings, current.settings.copy_with_update(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
            self._no_heartbeat = cached
        return prefect.context.SettingsContext(profile=current.profile, settings=cached[1])
