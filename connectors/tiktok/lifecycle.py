"""The data request's state machine, run one step per ``list_page`` call and never blocking.

::

    (none) --add--> pending --check: pending-----> SourceNotReady(check_after = backoff)
                       |     --check: downloading-> download -> verify -> staged
                       |     --check: expired-----> add again (rerequests + 1) -> pending
                       |     --check: cancelled---> FatalError
                       |     --check: <other>-----> FatalError naming the value
    staged, zip gone --(same as pending: check, download again or re-request)

Waiting is the framework's job: when TikTok is not ready this module raises
:class:`~connectors.errors.SourceNotReady` carrying a :class:`TikTokCursor` in phase ``pending``,
``check_after`` seconds (exponential backoff from ``poll_interval`` up to ``max_poll_interval``;
with a webhook configured the fallback poll uses ``max_poll_interval`` straight away) and
``wake_key = str(request_id)``, which is what the webhook receiver hands to its ``on_ready`` hook.
An export task therefore holds a worker for one Check call, not for the hours TikTok takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from ..errors import FatalError, RetryableError, SourceNotReady
from ..progress import NullProgress, Progress
from ..state import StateSlot
from .api import ConsentSpent, TikTokApi
from .cursor import Phase, TikTokCursor
from .staging import Staging
from .state import TikTokState
from .wire import RequestStatus

__all__ = ["LifecycleOptions", "RequestLifecycle", "Staged"]


@dataclass(frozen=True)
class LifecycleOptions:
    """Knobs of the request life; plain values from the connector options.

    Attributes:
        categories: the Add call's ``category_selection_list``.
        data_format: ``json`` (parsed into verticals) or ``text`` (every file as a blob).
        poll_interval: first wait in seconds after a Check says pending; doubles each time.
        max_poll_interval: ceiling of the wait; also the fallback poll when ``webhook`` is set.
        webhook: a webhook receiver is configured, so polling is only the safety net.
        max_rerequests: how many times an expired request may be replaced before giving up.
    """

    categories: tuple[str, ...] = ("all_data",)
    data_format: str = "json"
    poll_interval: float = 60.0
    max_poll_interval: float = 3600.0
    webhook: bool = False
    max_rerequests: int = 3


@dataclass(frozen=True)
class Staged:
    """A request whose zip is in staging (``download`` counts the downloads of it: the zip's name)."""

    request_id: int
    rerequests: int
    download: int = 1


#: Downloads in a row that fail the same way before ferry stops asking for the same export.
MAX_MALFORMED = 3


class RequestLifecycle:
    """Drives one job's data request; every method does at most a few HTTP calls.

    The request is recorded in the job's state slot (:class:`TikTokState`) right after the Add
    call and after every step, so any exporter of the job, in any process, continues it.
    """

    def __init__(
        self,
        api: TikTokApi,
        staging: Staging,
        options: LifecycleOptions,
        slot: StateSlot,
        *,
        progress: Progress | None = None,
    ) -> None:
        self._api = api
        self._staging = staging
        self._opts = options
        self._slot = slot
        self._progress = progress or NullProgress()

    def state(self) -> TikTokState | None:
        """The job's request as last saved (None before the first Add)."""
        return self._slot.load(TikTokState)

    def save(self, state: TikTokState) -> None:
        self._slot.save(state)

    def ensure_staged(self, cursor: TikTokCursor | None) -> Staged:
        """Return the staged download, or advance the request one step and raise.

        Raises:
            SourceNotReady: TikTok is still preparing; carries the cursor to resume from.
            RetryableError: a transient HTTP failure or a truncated download (already discarded).
            FatalError: the request was cancelled, has an unknown status, expired too often, or
                TikTok sent the same malformed export :data:`MAX_MALFORMED` times.
            ReauthRequired: the credential is dead or lacks the scope; ConsentSpent when the
                request must be replaced and the consent allows no further one.
        """
        record = self._resolve(cursor)
        if record is None:
            return self._start(rerequests=0)  # raises SourceNotReady
        if record.malformed >= MAX_MALFORMED:
            raise FatalError(self._malformed_text(record))
        staged = Staged(record.request_id, record.rerequests, record.downloads)
        if record.staged and self._staging.has_zip(record.request_id, record.downloads):
            return staged
        info = self._api.check(record.request_id)
        status = info.status
        if status == RequestStatus.PENDING:
            checks = record.checks + 1
            self.save(record.model_copy(update={"checks": checks, "staged": False}))
            self._not_ready(record.request_id, checks, record.rerequests, "is still being prepared")
        if status == RequestStatus.DOWNLOADING:
            return self._download(record)
        if status == RequestStatus.EXPIRED:
            if record.rerequests >= self._opts.max_rerequests:
                raise FatalError(
                    f"TikTok data request {record.request_id} expired again after "
                    f"{record.rerequests} new requests; start the transfer again later"
                )
            self._staging.discard(record.request_id)
            return self._start(rerequests=record.rerequests + 1, replaced=record.request_id)
        if status == RequestStatus.CANCELLED:
            raise FatalError(
                f"TikTok data request {record.request_id} was cancelled (outside this transfer?); "
                "start a new transfer to ask again"
            )
        known = ", ".join(s.value for s in RequestStatus)
        raise FatalError(
            f"TikTok data request {record.request_id} has unknown status {status!r} (known: {known}); "
            "the transfer stopped so nothing is guessed"
        )

    def redownload(self, request_id: int) -> Staged | None:
        """Download the request's zip again (its media links are signed afresh); None if TikTok
        no longer serves it (expired, cancelled). The earlier zip stays until the job ends:
        streams still reading it keep working.

        Raises:
            RetryableError: a transient failure (check or download).
        """
        record = self.state()
        if record is None or record.request_id != request_id:
            return None
        if self._api.check(request_id).status != RequestStatus.DOWNLOADING:
            return None
        return self._download(record)

    def malformed(self, staged: Staged, reason: str) -> Exception:
        """Record that the staged zip cannot be read; return what to raise.

        The zip is discarded. Until TikTok has sent the same malformed export
        :data:`MAX_MALFORMED` times in a row it is a RetryableError (the engine downloads it
        again); then a FatalError saying what is wrong, and every later resume says the same
        at once, without downloading again.
        """
        self._staging.discard(staged.request_id)
        record = self.state()
        if record is None or record.request_id != staged.request_id:
            return RetryableError(f"{reason}; downloading it again")
        same = record.malformed_reason == reason
        record = record.model_copy(
            update={"staged": False, "size": None, "malformed": record.malformed + 1 if same else 1, "malformed_reason": reason}
        )
        self.save(record)
        if record.malformed >= MAX_MALFORMED:
            return FatalError(self._malformed_text(record))
        return RetryableError(f"{reason}; downloading it again (attempt {record.malformed + 1} of {MAX_MALFORMED})")

    @staticmethod
    def _malformed_text(record: TikTokState) -> str:
        return (
            f"TikTok sent the same malformed export for data request {record.request_id} {record.malformed} times: "
            f"{record.malformed_reason}. ferry stops downloading it; start a new transfer to ask TikTok for a new "
            "export, or tell TikTok support (the request id identifies it)"
        )

    def cancel(self, cursor: TikTokCursor | None) -> int | None:
        """Cancel the job's data request if it is pending or ready; return its id, else None.

        Idempotent: a request already cancelled or expired is left alone. The staged zip (if any)
        and the job's record of the request are removed, so nothing of it lingers.
        """
        record = self._resolve(cursor)
        if record is None:
            return None
        info = self._api.check(record.request_id)
        cancelled = None
        if info.status in (RequestStatus.PENDING, RequestStatus.DOWNLOADING):
            self._api.cancel(record.request_id)
            cancelled = record.request_id
        self._staging.discard(record.request_id)
        self._slot.clear()
        return cancelled

    # -- steps ----------------------------------------------------------------------------

    def _resolve(self, cursor: TikTokCursor | None) -> TikTokState | None:
        """The request to work on: the saved one when it is newer than the cursor's."""
        record = self.state()
        if cursor is None:
            return record
        if record is not None and (record.request_id == cursor.request_id or record.rerequests > cursor.rerequests):
            return record
        return TikTokState(
            request_id=cursor.request_id,
            staged=cursor.phase == Phase.STAGED,
            rerequests=cursor.rerequests,
            checks=cursor.checks,
        )

    def _download(self, record: TikTokState) -> Staged:
        download = record.downloads + 1
        try:
            size = self._staging.receive(
                record.request_id,
                download,
                lambda sink: self._api.download(record.request_id, sink, progress=self._progress),
            )
        except FatalError as exc:
            # Check said ready but Download refused (it expired or was cancelled in between):
            # retrying re-checks the status and takes the right branch.
            raise RetryableError(f"{exc}; checking the request again") from None
        self.save(record.model_copy(update={"staged": True, "size": size, "downloads": download}))
        return Staged(record.request_id, record.rerequests, download)

    def _start(self, *, rerequests: int, replaced: int | None = None) -> Staged:
        try:
            request_id = self._api.add(list(self._opts.categories), self._opts.data_format)
        except ConsentSpent as exc:
            if replaced is None:
                raise ConsentSpent(
                    f"TikTok refused a data request: the authorization allows no further one ({exc.detail})", detail=exc.detail
                ) from None
            raise ConsentSpent(
                f"TikTok data request {replaced} expired before ferry could download it, and the authorization "
                f"allows only one data request (a .single consent), so TikTok refused a new one ({exc.detail})",
                detail=exc.detail,
            ) from None
        previous = self.state()
        media = previous.media if previous is not None else {}
        self.save(TikTokState(request_id=request_id, rerequests=rerequests, media=media))
        why = f"replaces expired request {replaced}" if replaced is not None else "was just requested"
        self._not_ready(request_id, 0, rerequests, why)
        raise AssertionError("unreachable")  # pragma: no cover

    def backoff(self, checks: int) -> float:
        """Seconds to wait before the next Check after ``checks`` pending answers."""
        if self._opts.webhook:
            return self._opts.max_poll_interval
        return min(self._opts.poll_interval * (2 ** min(checks, 30)), self._opts.max_poll_interval)

    def _not_ready(self, request_id: int, checks: int, rerequests: int, why: str) -> None:
        cursor = TikTokCursor(request_id=request_id, phase=Phase.PENDING, checks=checks, rerequests=rerequests)
        wait = self.backoff(checks)
        raise SourceNotReady(
            f"TikTok data request {request_id} {why}; checking again in {wait:.0f} s",
            cursor=cursor,
            check_after=wait,
            wake_key=str(request_id),
        )
