"""The daily ``credential-maintenance`` flow: keep tokens alive, find dead ones, clean up.

Why a scheduled flow: transfers refresh tokens when they use them, but a recurring transfer may
sleep for days while its access token expires and, on services that expire *idle* refresh
tokens (Meta's onboarding guide: long-lived tokens must be used or refreshed regularly), the
refresh token too. Once a day, for every credential something still uses:

* **refresh before expiry**: the access token expires before the next maintenance run
  (``refresh_within_hours``) -> refresh now;
* **keep-alive**: not refreshed for ``keepalive_days`` (or the refresh token itself expires
  within the window) -> refresh now, which rotates and extends the refresh token;
* **refresh refused** while the access token is still valid -> nothing changes yet (transfers
  keep using the token until it expires); the row says so and when;
* **dead**: a refresh fails for good and the token is expired -> the credential store marks it and its jobs
  NEEDS_REAUTH with the reason (recurring runs then wait instead of failing) and
  ``ferry.credential.reauth-needed`` is emitted;
* **expiring grant**: the user's grant ends within ``notice_days`` (``grant_expires_at``, fed by
  expiry notices) -> ``ferry.credential.expiring`` for an Automation, and
  ``ferry reconnect --expiring-within`` lists it.

Credentials nothing uses any more are revoked (``revoke_if_unused``: exactly once, so a
revocation that failed at the end of a transfer is retried here). Refreshes use the store's
row lock, so maintenance and running transfers never spend one refresh token twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from prefect import flow

from connectors.errors import FerryError, ReauthRequired, RetryableError

from . import events
from .reauth import credential_died
from .store import Credential, CredentialStatus, as_utc, utcnow

__all__ = ["credential_maintenance", "maintain_credentials", "FOREVER"]

#: A refresh "skew" large enough to force a refresh whatever the expiry.
FOREVER = 100 * 365 * 24 * 3600.0


def _why_refresh(row: Credential, now: datetime, window: timedelta, keepalive: timedelta) -> str | None:
    access = as_utc(row.access_expires_at)
    refresh = as_utc(row.refresh_expires_at)
    last = as_utc(row.last_refreshed_at) or as_utc(row.created_at)
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
    notice: timedelta = timedelta(days=30),
    now: datetime | None = None,
) -> list[dict]:
    """One maintenance pass over every credential; returns one secret-free row per credential.

    ``credentials`` is a :class:`flows.credentials.CredentialStore`. Each row says what was done
    (``refreshed``, ``dead``, ``revoked``, ``expiring``, ``ok``, ``retry-later``) and why.
    """
    from sqlmodel import Session, select

    from .credentials import RefreshRefused

    now = now or utcnow()
    with Session(credentials.engine) as session:
        rows = list(session.exec(select(Credential)).all())
    report = []
    for row in rows:
        status = CredentialStatus(row.status)
        entry = {"credential": row.id, "connector": row.connector, "label": row.label or "", "action": "ok", "why": ""}
        report.append(entry)
        if status == CredentialStatus.REVOKED:
            entry["action"] = "revoked-earlier"
            continue
        if not credentials.users(row.id):
            try:
                revoked = credentials.revoke_if_unused(row.id)
            except FerryError as exc:
                entry.update(action="retry-later", why=f"revoking failed: {exc}")
                continue
            entry.update(action="revoked" if revoked else "ok", why="no transfer uses it any more")
            continue
        if status == CredentialStatus.NEEDS_REAUTH:
            entry.update(action="dead", why=row.status_reason or "needs re-authorization")
            continue
        grant = as_utc(row.grant_expires_at)
        if grant is not None and grant <= now + notice:
            events.emit(events.CREDENTIAL_EXPIRING, events.credential_resource(row.id), {"expires_at": grant.isoformat()})
            entry.update(action="expiring", why=f"access ends {grant:%Y-%m-%d %H:%M} UTC: run `ferry reconnect`")
        why = _why_refresh(row, now, refresh_within, keepalive)
        if why is None:
            continue
        try:
            credentials.refresh_token(row.id, skew=FOREVER, now=now)
        except RefreshRefused as exc:  # the access token still works: not dead yet, but it will be
            entry.update(action="refresh-refused", why=f"{exc}; run `ferry reconnect`")
        except ReauthRequired as exc:
            credential_died(credentials, row.id, str(exc))
            entry.update(action="dead", why=str(exc))
        except RetryableError as exc:
            entry.update(action="retry-later", why=f"{why}; token endpoint: {exc}")
        else:
            entry.update(action="refreshed", why=why)
    return report


@flow(name="credential-maintenance", log_prints=False)
def credential_maintenance(refresh_within_hours: float = 26.0, keepalive_days: float = 7.0, notice_days: float = 30.0) -> list[dict]:
    """Refresh tokens before they expire, keep idle refresh tokens alive, flag dead credentials.

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

    report = maintain_credentials(
        open_context().credentials,
        refresh_within=timedelta(hours=refresh_within_hours),
        keepalive=timedelta(days=keepalive_days),
        notice=timedelta(days=notice_days),
    )
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:  # called as a function: no artifact
        return report
    try:
        from prefect.artifacts import create_table_artifact

        create_table_artifact(report or [{"credential": "-", "action": "none stored"}], key="credential-maintenance", description="What maintenance did per credential")
    except Exception:  # outside a flow run (tests calling .fn), or no API
        pass
    return report
