"""The steps of a transfer as plain functions: authorize, export, convert, import, revoke.

``flows.transfer`` wraps each in a Prefect task; keeping the logic here lets it be read and
tested without an orchestrator (tests/test_engine_steps.py). Every step works on one page of one
job, so a page of hundreds of items costs one task run per step, never one per item.

Retries happen here and only here (:mod:`flows.retry`): a ``RetryableError`` from listing,
staging, finding or importing, and items that failed ``retryable``, are tried again with backoff
that honours Retry-After, within the job's budget.

Exactly once (:mod:`flows.store.ledger`, :mod:`flows.recorder`): intents before sending,
each outcome as it completes, in-doubt items reconciled with the destination before any resend.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

from connectors.base import ImportContext, ItemOutcome, RepeatSafety
from connectors.base import Outcome as ImportOutcome
from connectors.errors import (
    DestinationFull,
    FatalError,
    FerryError,
    ItemError,
    ReauthRequired,
    RetryableError,
    SourceNotReady,
)
from connectors.models import BYTE_ITEM_KINDS, CONTAINER_KINDS, Item, parents_first

from .pages import ExportedPage, PageResult, Waiting
from .reauth import credential_died, reconnect_hint
from .recorder import OutcomeRecorder, intent
from .retry import RetriesExhausted
from .runtime import JobRuntime
from .store import CredentialStatus, LedgerRecord, Outcome, ProblemRecord, content_hash

__all__ = ["Interrupted", "authorize_job", "export_page", "convert_page", "import_page", "revoke_credentials"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class Interrupted(FerryError):
    """A stop was requested (Ctrl-C, SIGTERM, the client went away): the job pauses, resumable.

    A FerryError, so the console keeps it to ferry's own one line (ferry/logfilters.py)."""


def _retrying(rt: JobRuntime, what: str, call: Callable[[], T]) -> T:
    """``call()``, retried on RetryableError within the job's budget."""
    attempt = 1
    while True:
        try:
            return call()
        except RetryableError as exc:
            _wait(rt, attempt, f"{what}: {exc}", exc.retry_after)
            attempt += exc.retry_after is None  # being told to wait is not a failed attempt


def _wait(rt: JobRuntime, attempt: int, reason: str, retry_after: float | None) -> None:
    log.info("retrying %s (attempt %d)", reason, attempt + 1)
    try:
        rt.budget.wait(attempt, reason, retry_after)
    except InterruptedError:
        raise Interrupted(rt.job.id) from None


# -- authorize ----------------------------------------------------------------------------------


def authorize_job(rt: JobRuntime) -> dict:
    """Build exporter and importer and run the checks (:mod:`flows.check`) before anything moves.

    Every credential the job needs works now, the source can be read and the destination
    written; the first check that fails stops the job with its error (a RetryableError is
    retried within the budget first). Returns a secret-free description (connector names and
    credential ids) for the run's logs.
    """
    from .check import transfer_checks

    job = rt.job
    for credential_id, endpoint in ((job.source_credential_id, rt.source), (job.destination_credential_id, rt.destination)):
        if endpoint.connector.needs_credentials and not credential_id:
            raise ReauthRequired(
                f"{endpoint.connector.name} needs a credential: run `ferry auth login {endpoint.connector.name}` and pass its id"
            )
    rt.exporter, rt.importer  # building the parts resolves credentials and fails fast on bad locations
    checks = transfer_checks(
        source_name=rt.source.connector.name,
        destination_name=rt.destination.connector.name,
        exporter=lambda: rt.exporter,
        importer=lambda: rt.importer,
        access_token=lambda credential_id: rt.ctx.credentials.token_source(credential_id).access_token(),
        source_credential_id=job.source_credential_id,
        destination_credential_id=job.destination_credential_id,
    )
    for check in checks:
        _retrying(rt, f"checking that the {check.name}", check.run)
    return {
        "source": rt.source.connector.name,
        "destination": rt.destination.connector.name,
        "credential_ids": [c for c in (job.source_credential_id, job.destination_credential_id) if c],
    }


# -- export ----------------------------------------------------------------------------------------


def export_page(rt: JobRuntime, vertical: str) -> ExportedPage:
    """List the next page of ``vertical`` from its saved cursor (or its bookmark, or the start)."""
    route = rt.routes[vertical]
    job = rt.job
    saved = rt.ledger.cursor(job.id, vertical)
    if saved is not None and saved.done:
        return ExportedPage(vertical=vertical, done=True)
    exporter = rt.exporter
    cursor_json, version = (saved.cursor_json, saved.cursor_version) if saved else (None, 1)
    capabilities = rt.source.connector.capabilities
    if saved is None and capabilities.incremental:
        mark = rt.ledger.bookmark(job.ledger_scope, vertical)
        cursor_json, version = (mark.cursor_json, mark.cursor_version) if mark else (None, 1)
    cursor = exporter.cursor_model.load(cursor_json, version) if cursor_json else None
    try:
        page = _retrying(rt, f"listing {vertical}", lambda: exporter.list_page(route.source, cursor))
    except ReauthRequired as exc:
        raise source_needs_reauth(rt, exc) from exc
    except SourceNotReady as exc:
        # Not a failure: the task completes and the flow parks the job as WAITING.
        return ExportedPage(
            vertical=vertical,
            waiting=Waiting(cursor_json=exc.cursor.model_dump_json(), check_after=exc.check_after, wake_key=exc.wake_key, message=str(exc)),
        )
    finally:
        _record_problems(rt, vertical)
    if not rt.progress.started(vertical):
        _start_vertical(rt, vertical, page.total_hint if route.is_identity else None)
    result = ExportedPage(
        vertical=vertical,
        items=list(page.items),
        next_cursor=page.next.model_dump_json() if page.next is not None else None,
        done=page.next is None,
        converter_state=dict(saved.converter_state) if saved else {},
        bookmark=page.bookmark.model_dump_json() if page.bookmark is not None and capabilities.incremental else None,
    )
    if rt.stages_bytes:
        _stage(rt, result.items)
    return result


def _start_vertical(rt: JobRuntime, vertical: str, total: int | None) -> None:
    """Tell the progress bar, once per vertical and run, the vertical's size and what this job
    already did in it (a resumed job's bar starts where it stopped, not at 0 under an old total).

    Items this job delivered earlier are counted here, so the import step does not count them
    again when a redone page lists them (:func:`import_page`).
    """
    figures = rt.ledger.figures(rt.job.id).per_vertical.get(vertical)
    done = figures.imported + figures.skipped + figures.failed if figures else 0
    rt.progress.start_vertical(vertical, total=total, done=done)


def source_needs_reauth(rt: JobRuntime, exc: ReauthRequired) -> ReauthRequired:
    """The source refused the job's consent (a spent single-use grant, a scope taken back).

    The token may still refresh fine, so nothing else would notice: the source credential is
    marked NEEDS_REAUTH here (``ferry reconnect`` then lists it and its jobs resume after the new
    authorization), and the reason names the commands that fix it.
    """
    credential_id = rt.job.source_credential_id
    if not credential_id:
        return exc
    credentials = rt.ctx.credentials
    info = credentials.get(credential_id)
    if info.status != CredentialStatus.ACTIVE:
        return exc  # the credential store already recorded why (a refresh failed for good)
    credential_died(credentials, info.id, str(exc))
    return ReauthRequired(f"{exc}; {reconnect_hint(info.id)}, then `ferry resume {rt.job.id[:8]}`")


def _record_problems(rt: JobRuntime, vertical: str) -> None:
    """Problems are written as soon as they are known (idempotent per job, subject and message).

    Asked only of sources that declare ``Capabilities.reports_problems``.
    """
    if not rt.source.connector.capabilities.reports_problems:
        return
    problems = rt.exporter.problems()
    if problems:
        rt.ledger.add_problems(
            rt.job.id, vertical, [ProblemRecord(p.subject, p.message, p.kind.value, p.item_id) for p in problems]
        )


def _stage(rt: JobRuntime, items: list[Item]) -> None:
    """Copy bytes of ephemeral sources into staging now, while their references are valid.

    Items the ledger already holds as delivered with the same content are not fetched: a
    recurring round of a source that lists everything (TikTok) downloads only what is new.
    """
    byte_items = [item for item in items if item.kind in BYTE_ITEM_KINDS]
    hashes = {(item.kind, item.id): content_hash(item) for item in byte_items}
    known = rt.ledger.known(rt.job.ledger_scope, list(hashes)) if hashes else {}
    for item in byte_items:
        if rt.stop.is_set():
            raise Interrupted(rt.job.id)
        seen = known.get((item.kind, item.id))
        if seen is not None and seen.delivered(hashes[(item.kind, item.id)]):
            continue
        if not rt.staging.has(item.id, getattr(item, "size", None)):

            def put(item=item) -> None:
                with rt.exporter.open_bytes(item) as stream:
                    rt.staging.put(item.id, stream)

            try:
                _retrying(rt, f"downloading {item.display_name}", put)
            except ItemError as exc:
                # the import step reports it, naming the item; a failure a later try cannot fix
                # is remembered, so the import does not ask the source a second time
                if not exc.retryable:
                    rt.unstageable[item.id] = exc


# -- convert ---------------------------------------------------------------------------------------


def convert_page(rt: JobRuntime, page: ExportedPage) -> ExportedPage:
    """Run the route's converter (identity for most routes) over the page."""
    route = rt.routes[page.vertical]
    if route.is_identity or not page.items:
        return page
    state = dict(page.converter_state)
    items = route.convert(list(page.items), state)
    return page.model_copy(update={"items": items, "converter_state": state})


# -- import ----------------------------------------------------------------------------------------


def import_page(rt: JobRuntime, page: ExportedPage) -> PageResult:
    """Deliver the page's new or changed items exactly once, then move the cursor.

    Items the ledger holds as delivered with the same content are not sent. Items whose intent
    has no outcome (a crash mid-send) are reconciled with the destination first. Each outcome is
    written as it completes (see :mod:`flows.recorder`); the cursor, in one transaction with the
    page's last outcomes, only after all of them.
    """
    job, ledger, vertical = rt.job, rt.ledger, page.vertical
    rt.progress.vertical(vertical)
    result = PageResult(vertical=vertical)
    items = parents_first(page.items)
    hashes = {(item.kind, item.id): content_hash(item) for item in items}
    known = ledger.known(job.ledger_scope, list(hashes))
    todo: list[Item] = []
    in_doubt: set[str] = set()
    not_counted = 0  # unchanged items delivered by an earlier job (this job's were counted at its start)
    for item in items:
        seen = known.get((item.kind, item.id))
        if seen is not None and seen.delivered(hashes[(item.kind, item.id)]):
            result.unchanged += 1
            not_counted += seen.job_id != job.id
            continue
        if seen is not None and seen.outcome == Outcome.SENDING:
            in_doubt.add(item.id)
        todo.append(item)
    if not_counted:
        rt.progress.advance(items=not_counted)
    result.in_doubt = len(in_doubt)
    if rt.parents is None:
        rt.parents = ledger.parents(job.ledger_scope)
    ictx = ImportContext(
        open_bytes=rt.open_bytes,
        job_id=job.id,
        recurring_id=job.recurring_id,
        export_service=rt.exporter.service_name,
        progress=rt.progress,
        parents=rt.parents,
        destination_of=lambda item_id: ledger.destination_of(job.ledger_scope, item_id),
        should_stop=rt.stop.is_set,
    )
    safety = rt.repeat_safety
    recorder = OutcomeRecorder(ledger, job_id=job.id, scope=job.ledger_scope, vertical=vertical, group=safety != RepeatSafety.NONE)
    try:
        if in_doubt and safety == RepeatSafety.FINDS:
            todo = _reconcile(rt, todo, in_doubt, hashes, recorder, ictx)
        elif in_doubt and safety == RepeatSafety.NONE:
            result.resent_in_doubt = len(in_doubt)
            log.warning("job %s: %d item(s) were being sent when ferry stopped; the destination cannot tell, sending them again", job.id[:8], len(in_doubt))
        _deliver(rt, todo, hashes, in_doubt, recorder, ictx, result, known)
        recorder.flush()
    finally:
        recorder.close()
    if result.stopped:
        raise Interrupted(job.id)
    version = rt.exporter.cursor_model.version
    ledger.commit_page(
        job_id=job.id,
        scope=job.ledger_scope,
        vertical=vertical,
        cursor_json=page.next_cursor,
        cursor_version=version,
        done=page.done,
        converter_state=page.converter_state,
    )
    if page.done and page.bookmark is not None:
        ledger.save_bookmark(job.ledger_scope, vertical, page.bookmark, version)
    if rt.stages_bytes:
        rt.staging.discard([item.id for item in items])
    return result


def _reconcile(rt, todo, in_doubt, hashes, recorder, ictx) -> list[Item]:
    """Ask the destination about in-doubt items; those it holds are recorded, not re-sent."""
    left = []
    for item in todo:
        if item.id not in in_doubt:
            left.append(item)
            continue
        found = _retrying(rt, f"looking up {item.display_name}", lambda item=item: rt.importer.find(item, ictx))
        if found is None:
            left.append(item)
            continue
        recorder.record(LedgerRecord(item.kind, item.id, hashes[(item.kind, item.id)], Outcome.IMPORTED, item.display_name, found.destination_id))
        _note_parent(rt, item, found.destination_id)
        rt.progress.advance(items=1)
    return left


def _deliver(rt, todo, hashes, in_doubt, recorder, ictx, result: PageResult, known) -> None:
    """Send ``todo``; retry what failed retryably (whole call or single items) within the budget.

    A stop (Ctrl-C, the client went away) ends it cleanly: the outcomes of the items in flight
    are recorded, and the intents of items the importer never started are withdrawn, so a clean
    stop leaves nothing in doubt (items that were in doubt before this run stay so).
    """
    remaining = todo
    attempt = 1
    last: dict[str, ItemOutcome] = {}
    while remaining:
        by_id = {item.id: item for item in remaining}
        answered: set[str] = set()
        again: list[Item] = []
        call_error: RetryableError | None = None
        final_attempt = attempt >= rt.budget.policy.page_attempts
        try:
            with contextlib.closing(_send(rt, remaining, hashes, recorder, ictx)) as outcomes:
                for outcome in outcomes:
                    item = by_id.get(outcome.item_id)
                    if item is None or item.id in answered:
                        continue
                    answered.add(item.id)
                    if outcome.status == ImportOutcome.FAILED and outcome.retryable and not final_attempt:
                        last[item.id] = outcome
                        again.append(item)
                        continue
                    _record(rt, recorder, item, outcome, hashes, in_doubt)
                    # after a stop, keep reading: the importer starts nothing new
                    # (ImportContext.should_stop) and hands back the items in flight
        except RetryableError as exc:
            call_error = exc
        except (DestinationFull, ReauthRequired, FatalError):
            raise
        except FerryError as exc:
            raise FatalError(f"importing {result.vertical}: {exc}") from exc
        if rt.stop.is_set():
            result.stopped = True
            for item in again:  # sent and failed: that is their outcome for now
                _record(rt, recorder, item, last[item.id], hashes, in_doubt)
            if call_error is None:  # the importer returned: what it did not answer was never sent
                recorder.withdraw([item for item in remaining if item.id not in answered and item.id not in in_doubt], known)
            return
        if call_error is not None:
            again += [item for item in remaining if item.id not in answered]
        else:
            for item in remaining:  # an importer that skipped an item must not leave it in doubt
                if item.id not in answered:
                    missing = ItemOutcome.failed(item.id, f"{item.display_name}: the importer gave no outcome for it")
                    _record(rt, recorder, item, missing, hashes, in_doubt)
        remaining = parents_first(again)
        if not remaining:
            return
        recorder.flush()
        reason = str(call_error) if call_error is not None else last[remaining[0].id].error or "failed"
        try:
            _wait(rt, attempt, f"importing {result.vertical}: {reason}", call_error.retry_after if call_error else None)
        except RetriesExhausted:
            if call_error is not None:
                raise
            for item in remaining:  # single items kept failing: record them and carry on
                _record(rt, recorder, item, last[item.id], hashes, in_doubt)
            return
        result.retries += 1
        if call_error is None or call_error.retry_after is None:
            attempt += 1  # being told to wait (Retry-After) is not a failed attempt


def _send(rt, items, hashes, recorder, ictx) -> Iterator[ItemOutcome]:
    """The importer's outcomes for ``items``, each preceded by its committed intent.

    Destinations that can tell what they hold get one intent transaction for the whole batch
    and the importer's own batching; the others get one item per call, its intent committed
    just before, so after a crash only the item in flight is in doubt.
    """
    if rt.repeat_safety != RepeatSafety.NONE:
        recorder.intents([intent(item, hashes[(item.kind, item.id)]) for item in items])
        yield from rt.importer.import_page(items, ictx)
        return
    for item in items:
        if rt.stop.is_set():
            return
        recorder.intents([intent(item, hashes[(item.kind, item.id)])])
        with contextlib.closing(rt.importer.import_page([item], ictx)) as outcomes:
            yield from outcomes


def _record(rt, recorder: OutcomeRecorder, item: Item, outcome: ItemOutcome, hashes, in_doubt) -> None:
    status = Outcome(outcome.status.value)
    if status == Outcome.SKIPPED and item.id in in_doubt:
        status = Outcome.IMPORTED  # it is there because our interrupted attempt put it there
    recorder.record(
        LedgerRecord(
            kind=item.kind,
            item_id=item.id,
            content_hash=hashes[(item.kind, item.id)],
            outcome=status,
            item_name=item.display_name,
            destination_id=outcome.destination_id,
            bytes=outcome.bytes,
            checksum=outcome.checksum,
            error=outcome.error if status == Outcome.FAILED else None,
            retryable=outcome.retryable if status == Outcome.FAILED else False,
        )
    )
    if status != Outcome.FAILED:
        _note_parent(rt, item, outcome.destination_id)
        rt.progress.advance(items=1)
    elif not outcome.retryable:  # done with, as far as the bar goes (a retryable one comes back)
        rt.progress.advance(items=1)


def _note_parent(rt, item: Item, destination_id: str | None) -> None:
    if item.kind in CONTAINER_KINDS and destination_id and rt.parents is not None:
        rt.parents[item.id] = destination_id


# -- revoke ----------------------------------------------------------------------------------------


def revoke_credentials(rt: JobRuntime) -> list[str]:
    """Revoke the job's credentials that no other job or recurring transfer still uses.

    A connector may keep its credentials (``Connector.revoke_when_done`` decides from the
    granted scopes: TikTok keeps an ``.ongoing`` grant for the next transfer). Failures are
    logged, never raised: the transfer itself is done, and the credential maintenance flow
    finishes any revocation left half done.
    """
    job = rt.job
    revoked = []
    for credential_id, connector in ((job.source_credential_id, rt.source.connector), (job.destination_credential_id, rt.destination.connector)):
        if not credential_id:
            continue
        try:
            decide = connector.revoke_when_done
            if decide is not None and not decide(tuple(rt.ctx.credentials.get(credential_id).scopes)):
                log.info("keeping credential %s: %s keeps this kind of grant for later transfers", credential_id, connector.name)
                continue
            if rt.ctx.credentials.revoke_if_unused(credential_id):
                revoked.append(credential_id)
        except FerryError as exc:
            log.warning("could not revoke credential %s yet: %s", credential_id, exc)
    return revoked
