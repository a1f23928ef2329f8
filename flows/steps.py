"""The five steps of a transfer as plain functions: authorize, export, convert, import, revoke.

``flows.transfer`` wraps each in a Prefect task; keeping the logic here lets it be read and
tested without an orchestrator. Every step takes a job id and works on one page, so a page of
hundreds of items costs one task run per step (Prefect's ~10 ms per task, never per item).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from connectors.base import ImportContext, ItemOutcome, Outcome, Problem
from connectors.errors import DestinationFull, FatalError, FerryError, ItemError, ReauthRequired, SourceNotReady
from connectors.models import BYTE_ITEM_KINDS, Item

from .runtime import JobRuntime, get_runtime
from .store import ErrorRecord, LedgerRecord, content_hash

__all__ = ["ExportedPage", "PageResult", "authorize_job", "export_page", "convert_page", "import_page", "revoke_credentials"]

#: Order in which kinds are imported within a page: containers before their contents, and
#: videos before photos as DTP does.
KIND_ORDER = {"album": 0, "calendar": 0, "folder": 0, "video": 1, "photo": 2, "file": 2, "event": 2, "post": 3}
FLUSH_SECONDS = 2.0
log = logging.getLogger(__name__)
RETRY_DELAYS = (0.5, 2.0)


@dataclass
class ExportedPage:
    vertical: str
    items: list = field(default_factory=list)
    next_cursor: str | None = None
    done: bool = False
    problems: list[Problem] = field(default_factory=list)
    converter_state: dict = field(default_factory=dict)
    #: set when the source is still preparing data: {"cursor", "check_after", "wake_key", "message"}
    waiting: dict | None = None


@dataclass
class PageResult:
    vertical: str
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    done: bool = False


def authorize_job(job_id: str) -> dict:
    """Build the runtime and make sure every credential the job needs works now.

    Returns a secret-free description (connector names and credential ids) for the run's logs.
    """
    runtime = get_runtime(job_id)
    job = runtime.job
    for credential_id, endpoint in (
        (job.source_credential_id, runtime.source),
        (job.destination_credential_id, runtime.destination),
    ):
        if endpoint.connector.needs_credentials and not credential_id:
            raise ReauthRequired(
                f"{endpoint.connector.name} needs a credential: run `ferry auth login {endpoint.connector.name}` "
                "and pass its id"
            )
    # Building the parts resolves credentials and fails fast on bad locations.
    runtime.exporter
    runtime.importer
    for credential_id in filter(None, (job.source_credential_id, job.destination_credential_id)):
        from .credentials import CredentialStore

        CredentialStore.from_settings(runtime.settings).token_source(credential_id).access_token()
    return {
        "source": str(runtime.source.connector.name),
        "destination": str(runtime.destination.connector.name),
        "credential_ids": [c for c in (job.source_credential_id, job.destination_credential_id) if c],
    }


def export_page(job_id: str, vertical: str) -> ExportedPage:
    """List the next page of ``vertical`` from its saved cursor (or the start)."""
    runtime = get_runtime(job_id)
    route = runtime.routes[vertical]
    saved = runtime.ledger.cursor(job_id, vertical)
    if saved is not None and saved.done:
        return ExportedPage(vertical, done=True)
    exporter = runtime.exporter
    cursor = exporter.cursor_model.model_validate_json(saved.cursor_json) if saved and saved.cursor_json else None
    try:
        page = exporter.list_page(route.source, cursor)
    except SourceNotReady as exc:
        # Not a failure: the task completes and the flow parks the job (see flows.wakeups).
        return ExportedPage(
            vertical,
            waiting={
                "cursor": exc.cursor.model_dump_json(),
                "check_after": exc.check_after,
                "wake_key": exc.wake_key,
                "message": str(exc),
            },
        )
    if cursor is None and page.total_hint:
        runtime.progress.expect(items=page.total_hint)
    result = ExportedPage(
        vertical=vertical,
        items=list(page.items),
        next_cursor=page.next.model_dump_json() if page.next is not None else None,
        done=page.next is None,
        problems=list(exporter.problems()),
        converter_state=dict(saved.converter_state) if saved else {},
    )
    if runtime.stages_bytes:
        _stage(runtime, result.items)
    return result


def _stage(runtime: JobRuntime, items: list[Item]) -> None:
    """Copy bytes of ephemeral sources into staging now, while their references are valid."""
    for item in items:
        if item.kind in BYTE_ITEM_KINDS and not runtime.staging.has(item.id, getattr(item, "size", None)):
            try:
                with runtime.exporter.open_bytes(item) as stream:
                    runtime.staging.put(item.id, stream)
            except ItemError:
                pass  # the import step reports it, naming the item


def convert_page(job_id: str, page: ExportedPage) -> ExportedPage:
    """Run the route's converter (identity for most routes) over the page."""
    runtime = get_runtime(job_id)
    route = runtime.routes[page.vertical]
    if route.is_identity or not page.items:
        return page
    state = dict(page.converter_state)
    page.items = route.convert(list(page.items), state)
    page.converter_state = state
    return page


def _ordered(items: list[Item]) -> list[Item]:
    def key(item: Item):
        depth = item.path.count("/") if item.kind == "folder" else 0
        return (KIND_ORDER.get(item.kind, 5), depth)

    return sorted(items, key=key)


def import_page(job_id: str, page: ExportedPage) -> PageResult:
    """Import the page's new or changed items, then commit ledger + cursor in one transaction.

    Items already delivered in this ledger scope with the same content hash are not sent again.
    Outcomes are flushed to the ledger every few seconds on long pages (without moving the
    cursor), so a crash mid-page loses at most the item in flight.
    """
    runtime = get_runtime(job_id)
    job, ledger, vertical = runtime.job, runtime.ledger, page.vertical
    runtime.progress.vertical(vertical)
    hashes = {item.id: content_hash(item) for item in page.items}
    delivered = ledger.delivered(job.ledger_scope, list(hashes))
    todo = [item for item in page.items if delivered.get(item.id, ("",))[0] != hashes[item.id]]
    unchanged = len(page.items) - len(todo)
    if unchanged:
        runtime.progress.advance(items=unchanged)
    if runtime.parents is None:
        runtime.parents = ledger.parents(job.ledger_scope)
    by_id = {item.id: item for item in todo}
    ctx = ImportContext(
        open_bytes=runtime.open_bytes,
        job_id=job.id,
        recurring_id=job.recurring_id,
        export_service=getattr(runtime.exporter, "service_name", "ferry"),
        progress=runtime.progress,
        parents=runtime.parents,
        destination_of=lambda item_id: ledger.delivered(job.ledger_scope, [item_id]).get(item_id, (None, None))[1],
    )
    result = PageResult(vertical)
    pending: list[ItemOutcome] = []
    last_flush = time.monotonic()

    def flush(*, final: bool) -> None:
        records, errors = [], []
        for outcome in pending:
            item = by_id.get(outcome.item_id)
            kind = item.kind if item is not None else "unknown"
            records.append(
                LedgerRecord(
                    item_id=outcome.item_id,
                    vertical=vertical,
                    kind=kind,
                    content_hash=hashes.get(outcome.item_id, ""),
                    outcome=outcome.status.value,
                    destination_id=outcome.destination_id,
                    bytes=outcome.bytes,
                )
            )
            if outcome.status == Outcome.FAILED:
                errors.append(ErrorRecord(outcome.item_id, item.display_name if item else None, vertical, outcome.error or "failed", outcome.retryable))
            elif item is not None and item.kind in ("album", "folder", "calendar") and outcome.destination_id:
                runtime.parents[item.id] = outcome.destination_id
            result.imported += outcome.status == Outcome.IMPORTED
            result.skipped += outcome.status == Outcome.SKIPPED
            result.failed += outcome.status == Outcome.FAILED
            result.bytes += outcome.bytes
        if final:
            errors = [ErrorRecord(p.item_id or p.subject, p.subject, vertical, p.message) for p in page.problems] + errors
        ledger.commit_page(
            job_id=job.id,
            scope=job.ledger_scope,
            vertical=vertical,
            records=records,
            errors=errors,
            cursor_json=page.next_cursor,
            done=page.done,
            converter_state=page.converter_state,
            advance_cursor=final,
        )
        pending.clear()

    def run(items: list[Item]) -> list[ItemOutcome]:
        nonlocal last_flush
        retry: list[ItemOutcome] = []
        for outcome in runtime.importer.import_page(_ordered(items), ctx):
            if outcome.status == Outcome.FAILED and outcome.retryable:
                retry.append(outcome)
                continue
            pending.append(outcome)
            if outcome.status != Outcome.FAILED:
                runtime.progress.advance(items=1)
            if time.monotonic() - last_flush > FLUSH_SECONDS:
                flush(final=False)
                last_flush = time.monotonic()
        return retry

    try:
        retry = run(todo)
        for delay in RETRY_DELAYS:
            if not retry:
                break
            time.sleep(delay)
            retry = run([by_id[o.item_id] for o in retry])
        pending.extend(retry)  # still failing after the retries: record them as failed
    except (DestinationFull, ReauthRequired, FatalError):
        flush(final=False)  # keep what was delivered; the cursor stays, so the page is redone
        raise
    except FerryError as exc:
        flush(final=False)
        raise FatalError(f"importing {vertical}: {exc}") from exc
    flush(final=True)
    if runtime.stages_bytes:
        runtime.staging.discard(by_id)
    return result


def revoke_credentials(job_id: str) -> list[str]:
    """Revoke the job's credentials that no other job or recurring transfer still uses."""
    runtime = get_runtime(job_id)
    job = runtime.job
    revoked = []
    ids = [c for c in (job.source_credential_id, job.destination_credential_id) if c]
    if not ids:
        return revoked
    from .credentials import CredentialStore

    store = CredentialStore.from_settings(runtime.settings)
    for credential_id in ids:
        try:
            if store.revoke_if_unused(credential_id):
                revoked.append(credential_id)
        except FerryError as exc:
            # The transfer itself is done; credential maintenance retries the revocation later.
            log.warning("could not revoke credential %s yet: %s", credential_id, exc)
    return revoked

