"""The daily ``credential-maintenance`` flow: keep tokens alive, learn when access ends, clean up.

Why a scheduled flow: transfers refresh tokens when they use them, but a recurring transfer may
sleep for days while its access token expires and, on services that expire *idle* refresh
tokens (Meta's onboarding guide: long-lived tokens must be used or refreshed regularly), the
refresh token too. Once a day, for every credential:

* **finish revocations**: a credential left REVOKING (a crash or an unreachable provider between
  the claim and the provider's answer, :mod:`flows.revocation`) is revoked now;
* **revoke the unused**: nothing uses it any more -> revoked (``revoke_if_unused``: exactly once,
  so a revocation that failed at the end of a transfer is retried here);
* **the end of access**: its recorded end (``grant_expires_at``) has passed -> it and its waiting
  jobs are NEEDS_REAUTH "access ended at T" and ``ferry.credential.reauth-needed`` is emitted;
* **refresh before expiry**: the access token expires before the next run (``refresh_within_hours``)
  -> refresh now; **keep-alive**: not refreshed for ``keepalive_days`` (or the refresh token
  itself expires within the window) -> refresh now, which rotates and extends the refresh token;
* **refresh refused** while the access token is still valid -> nothing changes yet (transfers
  keep using the token until it expires); the row says so and when;
* **dead**: a refresh fails for good and the token is expired -> NEEDS_REAUTH with the reason
  (recurring runs then wait instead of failing) and ``ferry.credential.reauth-needed``;
* **ask the provider**: connectors that declare an access-expiry lookup (Meta's
  ``user_access_expire_time``) are asked, and the answer recorded (:func:`flows.expiry.check_provider`);
* **remind**: ``remind_days`` before the end (default 30, 7, 1) ``ferry.credential.expiring`` is
  emitted once per threshold (:func:`flows.expiry.remind`), and ``ferry reconnect
  --expiring-within`` lists the credential.

Refreshes use the store's row lock, so maintenance and running transfers never spend one refresh
token twice. Each credential gets one :class:`Upkeep` row saying what was done and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from prefect import flow

from connectors.errors import FerryError, ReauthRequired, RetryableError

from . import expiry
from .reauth import credential_died, reconnect_hint
from .store.tables import CredentialStatus, as_utc, utcnow

__all__ = ["FOREVER", "Upkeep", "credential_maintenance", "maintain_credentials"]

#: A refresh "skew" large enough to force a refresh whatever the expiry.
FOREVER = 100 * 365 * 24 * 3600.0
#: Which action a row shows when several things happened (the most important wins).
_RANK = ("ok", "revoked-earlier", "refreshed", "refresh-refused", "retry-later", "expiring", "revoked", "failed", "dead")


@dataclass
class Upkeep:
    """What maintenance did for one credential (secret-free; the flow's artifact shows these)."""

    credential: str
    connector: str
    label: str
    action: str = "ok"
    why: str = ""
    notes: list[str] = field(default_factory=list, repr=False)

    def did(self, action: str, why: str) -> None:
        if _RANK.index(action) >= _RANK.index(self.action):
            self.action = action
        if why:
            self.notes.append(why)
        self.why = "; ".join(self.notes)

    def as_row(self) -> dict:
        row = asdict(self)
        row.pop("notes")
        return row


def _why_refresh(info, now: datetime, window: timedelta, keepalive: timedelta) -> str | None:
    access = as_utc(info.access_expires_at)
    refresh = as_utc(info.refresh_expires_at)
    last = as_utc(info.last_refreshed_at) or as_utc(info.created_at)
    if access is not None and access <= now + window:
        return f"access token expires {access:%Y-%m-%d %H:%M} UTC"
    if refresh is not None and refresh <= now + window:
        return f"refresh token expires {refresh:%Y-%m-%d %H:%M} UTC"
    if last is not None and now - last >= keepalive:
        return f"keep-alive: not refreshed since {last:%Y-%m-%d}"
    return None


def maintain_credentials(
    credentials,
    *,
    refresh_within: timedelta = timedelta(hours=26),
    keepalive: timedelta = timedelta(days=7),
    remind_days: Sequence[float] = expiry.DEFAULT_REMIND_DAYS,
    now: datetime | None = None,
) -> list[Upkeep]:
    """One maintenance pass over every credential; returns one :class:`Upkeep` per credential.

    ``credentials`` is a :class:`flows.credentials.CredentialStore`.
    """
    now = now or utcnow()
    report = []
    for info in credentials.list():
        entry = Upkeep(info.id, info.connector, info.label or "")
        report.append(entry)
        try:
            _maintain_one(credentials, info, entry, now=now, refresh_within=refresh_within, keepalive=keepalive, remind_days=remind_days)
        except FerryError as exc:  # one bad credential (a wrong key, a refused client) never stops the others
            entry.did("failed", str(exc))
    return report


def _maintain_one(credentials, info, entry: Upkeep, *, now: datetime, refresh_within: timedelta, keepalive: timedelta, remind_days: Sequence[float]) -> None:
    if info.status == CredentialStatus.REVOKED:
        entry.did("revoked-earlier", "")
        return
    if info.status == CredentialStatus.REVOKING:
        _finish_revocation(credentials, info.id, entry)
        return
    if not credentials.users(info.id):
        _revoke_unused(credentials, info.id, entry)
        return
    if info.status == CredentialStatus.NEEDS_REAUTH:
        entry.did("dead", info.status_reason or "needs re-authorization")
        return
    if _ended(credentials, info, entry, now=now):
        return
    _keep_alive(credentials, info, entry, now=now, refresh_within=refresh_within, keepalive=keepalive)
    if entry.action == "dead":
        return
    if expiry.lookup_url(info):
        _ask_provider(credentials, info, entry, now=now)
        info = credentials.get(info.id)
        if _ended(credentials, info, entry, now=now):  # the provider says it ended already
            return
    _remind(credentials, info, entry, now=now, remind_days=remind_days)


def _finish_revocation(credentials, credential_id: str, entry: Upkeep) -> None:
    try:
        done = credentials.finish_revocation(credential_id)
    except FerryError as exc:
        entry.did("retry-later", f"finishing its revocation failed: {exc}")
        return
    entry.did("revoked" if done else "revoked-earlier", "finished a revocation left half done")


def _revoke_unused(credentials, credential_id: str, entry: Upkeep) -> None:
    try:
        revoked = credentials.revoke_if_unused(credential_id)
    except FerryError as exc:
        entry.did("retry-later", f"revoking failed (it stays REVOKING and is finished next time): {exc}")
        return
    entry.did("revoked" if revoked else "ok", "no transfer uses it any more")


def _keep_alive(credentials, info, entry: Upkeep, *, now: datetime, refresh_within: timedelta, keepalive: timedelta) -> None:
    from .credentials import RefreshRefused

    why = _why_refresh(info, now, refresh_within, keepalive)
    if why is None:
        return
    try:
        credentials.refresh_token(info.id, skew=FOREVER, now=now)
    except RefreshRefused as exc:  # the access token still works: not dead yet, but it will be
        entry.did("refresh-refused", str(exc))
    except ReauthRequired as exc:
        credential_died(credentials, info.id, str(exc))
        entry.did("dead", str(exc))
    except RetryableError as exc:
        entry.did("retry-later", f"{why}; token endpoint: {exc}")
    else:
        entry.did("refreshed", why)


def _ask_provider(credentials, info, entry: Upkeep, *, now: datetime) -> None:
    try:
        ends = expiry.check_provider(credentials, info, now=now)
    except FerryError as exc:  # the lookup is advice: a failure changes nothing
        entry.did("retry-later" if isinstance(exc, RetryableError) else "ok", f"asking the provider when access ends failed: {exc}")
        return
    entry.did("ok", f"the provider says access ends {ends:%Y-%m-%d %H:%M} UTC" if ends else "the provider announces no end of access")


def _ended(credentials, info, entry: Upkeep, *, now: datetime) -> bool:
    """The recorded end of access has passed: NEEDS_REAUTH "access ended at T" (and its jobs)."""
    if expiry.end_if_past(credentials, info, now=now) is None:
        return False
    entry.did("dead", f"access ended at {as_utc(info.grant_expires_at):%Y-%m-%d %H:%M} UTC; {reconnect_hint(info.id)}")
    return True


def _remind(credentials, info, entry: Upkeep, *, now: datetime, remind_days: Sequence[float]) -> None:
    ends = as_utc(info.grant_expires_at)
    if ends is None or info.status != CredentialStatus.ACTIVE:
        return
    sent = expiry.remind(credentials.rows, info, now=now, remind_days=remind_days)
    if sent is not None or ends - now <= timedelta(days=max(remind_days, default=0)):
        reminded = f" (reminded {sent:g} days before)" if sent is not None else ""
        entry.did("expiring", f"access ends {ends:%Y-%m-%d %H:%M} UTC{reminded}; {reconnect_hint(info.id)}")


@flow(name="credential-maintenance", log_prints=False)
def credential_maintenance(refresh_within_hours: float = 26.0, keepalive_days: float = 7.0, remind_days: list[float] = [30.0, 7.0, 1.0]) -> list[dict]:  # noqa: B006 (Prefect parameters are copied)
    """Refresh tokens before they expire, keep idle refresh tokens alive, flag dead credentials,
    ask providers when access ends, remind before it does, finish and do revocations.

    Scheduled daily by prefect.yaml; parameters are editable in the UI. Publishes a table
    artifact ``credential-maintenance`` (no secrets).

    Args:
        refresh_within_hours: refresh an access token that expires within this many hours
            (a little more than a day, so it never expires between two daily runs).
        keepalive_days: refresh a credential nothing refreshed for this many days, so a
            provider that drops idle refresh tokens keeps it alive.
        notice_days: emit `ferry.credential.expiring` (and list it in `ferry reconnect
            --expiring-within`) when the user's grant ends within this many days.

    Returns:
        One secret-free row per credential: what was done (refreshed, dead, revoked,
        expiring, ok, retry-later) and why.
    """
    from .context import open_context

    report = [
        upkeep.as_row()
        for upkeep in maintain_credentials(
            open_context().credentials,
            refresh_within=timedelta(hours=refresh_within_hours),
            keepalive=timedelta(days=keepalive_days),
            remind_days=tuple(remind_days),
        )
    ]
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:  # called as a function: no artifact
        return report
    try:
        from prefect.artifacts import create_table_artifact

        create_table_artifact(report or [{"credential": "-", "action": "none stored"}], key="credential-maintenance", description="What maintenance did per credential")
    except Exception:  # outside a flow run (tests calling .fn), or no API
        pass
    return report
