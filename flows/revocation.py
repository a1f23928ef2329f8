"""Crash-safe revocation: REVOKING before the provider is called, REVOKED once it answered.

Why two steps: ferry promises that a single-use grant dies after its transfer. Marking the
credential revoked *before* calling the provider (as ferry did) meant a ``kill -9`` between the
two left it "revoked" locally while the grant stayed alive at the provider, and nothing would
ever revoke it. Now:

1. :func:`claim` - under the row lock, check that nothing uses the credential (unless forced)
   and move it ACTIVE/NEEDS_REAUTH -> REVOKING by compare-and-swap: of any number of concurrent
   callers exactly one claims it. The tokens stay stored: they are needed to finish.
2. :func:`finish` - call the provider's RFC 7009 endpoint (refresh token first: revoking it ends
   the grant; then the access token), and only after it answered move REVOKING -> REVOKED with
   the tokens deleted (the payload keeps no token and no client secret).

A REVOKING credential is never used again (the token source refuses it) and is finished by
whoever comes next: the daily ``credential-maintenance`` flow and ``ferry auth revoke`` call
:func:`finish` for it. A provider that fails transiently leaves it REVOKING for them; RFC 7009
answers 200 for tokens already revoked, so finishing twice (two finishers racing, or a crash
after the provider answered but before REVOKED was written) is harmless at the provider, and the
REVOKED write is a compare-and-swap, so exactly one finisher reports it.
"""

from __future__ import annotations

import logging

from connectors.errors import FerryError

from .store.tables import CredentialStatus, utcnow
from .token_payload import TokenPayload

__all__ = ["claim", "finish", "finish_all", "revoke"]

log = logging.getLogger(__name__)

_S = CredentialStatus


def claim(store, credential_id: str, *, force: bool = False) -> str | None:
    """ACTIVE/NEEDS_REAUTH -> REVOKING when nothing uses the credential (or ``force``).

    ``store`` is a :class:`flows.credentials.CredentialStore`. Returns the full credential id
    when this call claimed it; None when it is in use, already being revoked, revoked, or
    claimed by another caller just now.
    """
    with store.rows.locked(credential_id) as (session, row):
        if CredentialStatus(row.status) not in (_S.ACTIVE, _S.NEEDS_REAUTH):
            return None
        if not force and store.rows.users(row.id, session=session):
            return None
        claimed = store.rows.transition(row.id, _S.REVOKING, "revoking at the provider", session=session, expected_version=row.version)
        if claimed is None:
            return None
        session.commit()
        return claimed.id


def finish(store, credential_id: str) -> bool:
    """Tell the provider, then REVOKING -> REVOKED with the tokens deleted.

    Returns True for the call that wrote REVOKED; False when the credential is not REVOKING
    (revoked already, or never claimed).

    Raises:
        RetryableError: the revocation endpoint failed transiently or could not be reached;
            the credential stays REVOKING and a later :func:`finish` retries.
        ConfigError: the provider refused the client (the credential stays REVOKING).
    """
    row = store.rows.get(credential_id)
    if CredentialStatus(row.status) != _S.REVOKING:
        return False
    payload = store.payload(row)
    client = store.client(row, payload)
    token = payload.token
    try:
        if client.config.revocation_endpoint:
            if token is not None:
                for hint, value in (("refresh_token", token.refresh_token), ("access_token", token.access_token)):
                    if value is not None:
                        client.revoke(value, hint)
            reason = "revoked at the provider"
        else:
            reason = "no revocation endpoint: tokens deleted locally only"
    except FerryError as exc:
        log.warning("revoking credential %s at the provider failed; it stays REVOKING and is retried later: %s", row.id, exc)
        raise
    done = store.rows.transition(
        row.id,
        _S.REVOKED,
        reason,
        only_from=[_S.REVOKING],
        token_ciphertext=store.encrypt(TokenPayload()),
        revoked_at=utcnow(),
        access_expires_at=None,
        refresh_expires_at=None,
    )
    if done is None:
        return False
    log.info("credential %s revoked (%s)", row.id, reason)
    return True


def revoke(store, credential_id: str, *, force: bool = False) -> bool:
    """Claim and finish: True only for the one call that revoked the credential.

    Without ``force`` a credential still used by a non-final job or a recurring transfer is left
    alone (False); with it, the jobs using it will need a new authorization.

    Raises:
        RetryableError / ConfigError: see :func:`finish` (the credential stays REVOKING).
    """
    claimed = claim(store, credential_id, force=force)
    return claimed is not None and finish(store, claimed)


def finish_all(store) -> dict[str, str]:
    """Finish every REVOKING credential; ``{credential id: "revoked" | the error}``."""
    results = {}
    for row in store.rows.list(statuses=[_S.REVOKING]):
        try:
            results[row.id] = "revoked" if finish(store, row.id) else "revoked by another process"
        except FerryError as exc:
            results[row.id] = str(exc)
    return results
