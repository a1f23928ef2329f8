"""The token set an authorization server hands out, with secrets hidden from repr and logs.

Token endpoints answer ``{access_token, token_type, expires_in, refresh_token?, scope?}``
(RFC 6749 §5.1). ``expires_in`` arrives as a number or a string (DTP reads it as a string);
TikTok adds ``refresh_expires_in`` and the user's ``open_id``. A refresh answer may omit
``refresh_token``: the held one stays valid, so :meth:`TokenSet.from_response` keeps it when told to.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from ..errors import FatalError
from ._provider import dig

__all__ = ["TokenSet"]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _seconds(value: Any, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FatalError(f"token endpoint answered a non-numeric {field!r}") from None


def _as_aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class TokenSet(BaseModel):
    """Access token, optional refresh token and their expiries.

    ``repr``/``str`` show ``SecretStr('**********')`` for both tokens; call
    ``.get_secret_value()`` only at the point of use.
    """

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    token_type: str = "Bearer"
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scope: tuple[str, ...] = ()
    #: The provider's id of the user, when the token answer carries it (not stored with the tokens).
    account: str | None = None

    @classmethod
    def from_response(
        cls,
        data: Mapping[str, Any],
        *,
        now: datetime | None = None,
        previous_refresh_token: SecretStr | str | None = None,
        account_field: str | None = None,
    ) -> TokenSet:
        """Build from a token endpoint's JSON answer (or a stored plain dict with ``expires_at``).

        ``account_field`` names where the answer carries the user's id (a dotted path).

        Raises:
            FatalError: no ``access_token`` in the answer (names the missing field only).
        """
        if not isinstance(data.get("access_token"), str) or not data["access_token"]:
            raise FatalError("token endpoint answer has no 'access_token' string")
        now = now or _utcnow()
        expires_in = _seconds(data.get("expires_in"), "expires_in")
        refresh_in = _seconds(data.get("refresh_expires_in"), "refresh_expires_in")
        expires_at = _parse_time(data.get("expires_at"))
        if expires_in is not None:
            expires_at = now + timedelta(seconds=expires_in)
        refresh_expires_at = _parse_time(data.get("refresh_expires_at"))
        if refresh_in is not None:
            refresh_expires_at = now + timedelta(seconds=refresh_in)
        refresh = data.get("refresh_token") or previous_refresh_token
        if isinstance(refresh, SecretStr):
            refresh = refresh.get_secret_value()
        scope = data.get("scope") or ()
        if isinstance(scope, str):
            scope = tuple(s for s in scope.replace(",", " ").split() if s)
        account = dig(data, account_field)
        account = str(account).strip()[:256] if isinstance(account, (str, int)) and not isinstance(account, bool) else None
        return cls(
            account=account or None,
            access_token=SecretStr(data["access_token"]),
            refresh_token=SecretStr(refresh) if refresh else None,
            token_type=str(data.get("token_type") or "Bearer"),
            expires_at=expires_at,
            refresh_expires_at=refresh_expires_at,
            scope=tuple(scope),
        )

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        """True when the access token is expired or will be within ``seconds`` (unknown: False)."""
        expires = _as_aware(self.expires_at)
        if expires is None:
            return False
        return expires <= (now or _utcnow()) + timedelta(seconds=seconds)

    def to_storage(self) -> dict[str, Any]:
        """A plain dict with the secrets revealed: only for encrypting into the credential store."""
        return {
            "access_token": self.access_token.get_secret_value(),
            "refresh_token": self.refresh_token.get_secret_value() if self.refresh_token else None,
            "token_type": self.token_type,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "refresh_expires_at": self.refresh_expires_at.isoformat() if self.refresh_expires_at else None,
            "scope": list(self.scope),
        }

    def secrets(self) -> list[str]:
        """The secret strings, so error text can be scrubbed of them."""
        return [s.get_secret_value() for s in (self.access_token, self.refresh_token) if s]


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return _as_aware(value)
    if isinstance(value, (int, float)):  # Authlib's epoch seconds
        return datetime.fromtimestamp(value, timezone.utc)
    return _as_aware(datetime.fromisoformat(str(value)))
