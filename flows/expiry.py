"""When a user's access ends: notices, the provider's answer, reminders before, and the end itself.

Meta's managed-accounts guidance (../shared/reference/meta-access-expiry.md) asks a data partner
to learn when each user's access ends, remind the user before, and handle the end cleanly. The
time lands in ``Credential.grant_expires_at`` from two sources:

* **notices** (:func:`record_notice`): Meta's ``migration_expire_time`` webhook or ferry's own
  notice body, received by ``ferry serve-expiry-notices`` (:mod:`ferry.servers.expiry_notices`); a
  notice names the user by the provider's id, recorded at login as the credential's ``account``;
* **the provider's answer** (:func:`check_provider`): connectors that declare an access-expiry
  lookup (``OAuthSpec.access_expiry_url``, Meta's ``user_access_expire_time``) are asked by the
  daily ``credential-maintenance`` flow for every active credential.

Then, per credential:

* **reminders** (:func:`remind`): N days before the end (default 30, 7 and 1) one
  ``ferry.credential.expiring`` event (an Automation can mail the user), once per threshold: the
  threshold sent is recorded with the end (a new end starts over), and a compare-and-swap makes
  two processes send it once; a reminder that could not reach Prefect is not recorded, so the
  next maintenance run sends it. A notice arriving inside a window reminds at once;
* **the end** (:func:`end_if_past`): once the time has passed, the credential and every waiting
  transfer using it are NEEDS_REAUTH with the reason "access ended at T" (the token source does
  the same at the first token use after T), never an opaque 403 from the provider.

``ferry reconnect --expiring-within`` lists what :func:`expiring_credentials` returns and
re-authorizes it in place; a new grant forgets the old end.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from connectors.errors import ConfigError

from . import events
from .credentials import CredentialInfo, CredentialStore, access_ended
from .reauth import credential_died, reconnect_hint
from .store.credential_rows import CredentialRows
from .store.tables import CredentialStatus, as_utc, utcnow

__all__ = [
    "DEFAULT_REMIND_DAYS",
    "ExpiringCredential",
    "NoticeResult",
    "check_provider",
    "lookup_url",
    "end_if_past",
    "expiring_credentials",
    "record_notice",
    "remind",
    "remind_all",
]

log = logging.getLogger(__name__)

#: Days before the end of access at which a reminder is sent.
DEFAULT_REMIND_DAYS: tuple[float, ...] = (30.0, 7.0, 1.0)


@dataclass(frozen=True)
class NoticeResult:
    """What one notice did: credentials whose end changed, and those that already had it."""

    updated: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def matched(self) -> bool:
        return bool(self.updated or self.unchanged)


@dataclass(frozen=True)
class ExpiringCredential:
    """A credential to re-authorize (``ferry reconnect``): why, and when its access ends."""

    id: str
    connector: str
    label: str | None
    account: str | None
    status: str
    why: str
    ends: str | None  # ISO time, or None when it needs re-authorization already

    def as_dict(self) -> dict:
        return asdict(self)


def _days(value: float) -> str:
    return f"{value:g} day" + ("" if value == 1 else "s")


def record_notice(
    rows: CredentialRows,
    ends_at: datetime,
    *,
    account: str | None = None,
    credential_id: str | None = None,
    connector: str | None = None,
    now: datetime | None = None,
    remind_days: Sequence[float] | None = DEFAULT_REMIND_DAYS,
) -> NoticeResult:
    """Record "this user's (or credential's) access ends at ``ends_at``".

    Matches live credentials by ``credential_id`` (id or prefix) or by the provider's user id
    ``account`` (optionally of one ``connector``). Idempotent: a repeated notice changes nothing
    and emits nothing. A changed end is checked for a due reminder at once, unless
    ``remind_days`` is None (the receiver reminds after answering: :func:`remind_all`).
    """
    if credential_id:
        try:
            found = [rows.get(credential_id)]
        except ConfigError:  # no such credential: a notice is never an error page
            found = []
        found = [r for r in found if CredentialStatus(r.status) not in (CredentialStatus.REVOKING, CredentialStatus.REVOKED)]
        if account:
            found = [r for r in found if r.account == account]
    elif account:
        found = rows.of_account(account, connector=connector)
    else:
        found = []
    ids = [r.id for r in found]
    updated = rows.record_grant_end(ids, ends_at, source="notice") if ids else []
    for cid in updated:
        log.info("access of credential %s ends at %s (notice)", cid, ends_at.isoformat())
    if remind_days is not None:
        remind_all(rows, updated, now=now, remind_days=remind_days)
    return NoticeResult(tuple(updated), tuple(i for i in ids if i not in updated))


def remind_all(rows: CredentialRows, credential_ids: Sequence[str], *, now: datetime | None = None, remind_days: Sequence[float] = DEFAULT_REMIND_DAYS) -> list[str]:
    """:func:`remind` each credential (as it is stored now); returns the ids reminded."""
    return [cid for cid in credential_ids if remind(rows, CredentialInfo.from_row(rows.get(cid)), now=now, remind_days=remind_days) is not None]


def lookup_url(info: CredentialInfo) -> str | None:
    """The access-expiry lookup for ``info``: the one stored at login, else its connector's declaration."""
    stored = info.config.get("access_expiry_url")
    if stored:
        return stored
    from connectors import registry

    try:
        spec = registry.get(info.connector).oauth
    except ConfigError:  # the connector is not installed here
        return None
    return spec.access_expiry_url if spec else None


def check_provider(credentials: CredentialStore, info: CredentialInfo, *, now: datetime | None = None) -> datetime | None:
    """Ask the provider when the user's access ends and record the answer (None: nothing announced).

    Only for connectors that declare the lookup (:func:`lookup_url`); the stored access token is
    used as is (refreshing is the maintenance flow's first step).

    Raises:
        ConfigError: the provider declares no lookup. RetryableError / ReauthRequired /
            FatalError: the lookup failed (nothing recorded).
    """
    now = now or utcnow()
    client = credentials.client_for(info.id)
    token = credentials.current_token(info.id, now=now)
    ends = client.access_end(token.access_token, account=info.account, url=lookup_url(info))
    if credentials.rows.record_provider_check(info.id, ends, checked_at=now):
        log.info("access of credential %s ends at %s (provider)", info.id, ends.isoformat())
    return ends


def remind(
    rows: CredentialRows, info: CredentialInfo, *, now: datetime | None = None, remind_days: Sequence[float] = DEFAULT_REMIND_DAYS
) -> float | None:
    """Emit the due reminder for ``info``'s end of access, once per threshold; returns its days.

    The due threshold is the smallest one the remaining time has crossed; it is sent only if
    no reminder at or below it was sent for this end (a notice five days before sends the
    7-day reminder, the 1-day one follows). None when nothing was due or it was sent already.
    """
    ends = as_utc(info.grant_expires_at)
    now = now or utcnow()
    if ends is None or ends <= now or info.status != CredentialStatus.ACTIVE:
        return None
    crossed = [d for d in remind_days if ends - now <= timedelta(days=d)]
    if not crossed:
        return None
    due = min(crossed)
    if info.grant_reminded_days is not None and info.grant_reminded_days <= due:
        return None
    if not rows.mark_reminded(info.id, due, for_end=ends, was=info.grant_reminded_days):
        return None  # another process sent it, or the end changed meanwhile
    payload = {
        "expires_at": ends.isoformat(),
        "days_before": due,
        "source": info.grant_source or "notice",
        "connector": info.connector,
        "account": info.account,
        "label": info.label,
        "reconnect": reconnect_hint(info.id).removeprefix("run ").strip("`"),
    }
    if not events.emit(events.CREDENTIAL_EXPIRING, events.credential_resource(info.id), payload):
        rows.mark_reminded(info.id, info.grant_reminded_days, for_end=ends, was=due)  # not sent: the next run tries again
        log.warning("access of credential %s ends at %s; the reminder could not be sent (no Prefect API?)", info.id, ends.isoformat())
        return None
    log.warning("access of credential %s ends at %s (%s left): reminded; %s", info.id, ends.isoformat(), _days(due), reconnect_hint(info.id))
    return due


def end_if_past(credentials: CredentialStore, info: CredentialInfo, *, now: datetime | None = None) -> list[str] | None:
    """Once the recorded end has passed: NEEDS_REAUTH "access ended at T", for it and its waiting jobs.

    Returns the ids of the jobs moved, or None when the end has not passed (or it is not ACTIVE).
    """
    ends = as_utc(info.grant_expires_at)
    if ends is None or ends > (now or utcnow()) or info.status != CredentialStatus.ACTIVE:
        return None
    return credential_died(credentials, info.id, access_ended(ends))


def expiring_credentials(rows: CredentialRows, within: timedelta, *, now: datetime | None = None) -> list[ExpiringCredential]:
    """Credentials to re-authorize: NEEDS_REAUTH ones, and those whose access ends within ``within``.

    The end is the grant's (a notice or the provider's answer) or the refresh token's own expiry.
    Soonest first. Reads only the clear columns (no key needed).
    """
    now = now or utcnow()
    horizon = now + within
    found = []
    for row in rows.list(statuses=[CredentialStatus.ACTIVE, CredentialStatus.NEEDS_REAUTH]):
        info = CredentialInfo.from_row(row)
        grant, refresh = as_utc(info.grant_expires_at), as_utc(info.refresh_expires_at)
        why, ends = None, None
        if info.status == CredentialStatus.NEEDS_REAUTH:
            why = f"needs re-authorization: {info.status_reason or 'refresh failed'}"
        elif grant is not None and grant <= horizon:
            why, ends = f"access ends ({'provider' if info.grant_source == 'provider' else 'expiry notice'})", grant
        elif refresh is not None and refresh <= horizon:
            why, ends = "refresh token expires", refresh
        if why:
            found.append(ExpiringCredential(info.id, info.connector, info.label, info.account, info.status.value, why, ends.isoformat() if ends else None))
    return sorted(found, key=lambda c: (c.ends or "", c.id))
