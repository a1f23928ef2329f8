"""What a credential's ciphertext holds, with a format version so a later ferry can read old ones.

The encrypted payload of a :class:`~flows.store.tables.Credential` is a JSON object:

* version 2 (written now): ``{"v": 2, "token": {...} | null, "client_secret": "..." | null}``;
* version 1 (ferry 0.1, no ``"v"``): ``{"token": {...} | null, "client_secret": ...}``.

:meth:`TokenPayload.read` reads every known version and refuses a newer one with one line
(a store written by a newer ferry); :meth:`TokenPayload.dump` always writes the current one,
so an old row is upgraded the next time it is written (a refresh, a reconnect, a revocation).
Why here and not in a migration: the payload is encrypted, and migrations run without the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from connectors.errors import ConfigError
from connectors.oauth import TokenSet

__all__ = ["PAYLOAD_VERSION", "TokenPayload"]

#: The payload format this ferry writes.
PAYLOAD_VERSION = 2


class TokenPayload(BaseModel):
    """The secrets of one credential: its tokens (None once revoked) and its client secret."""

    model_config = ConfigDict(frozen=True)

    token: TokenSet | None = None
    client_secret: SecretStr | None = None

    @classmethod
    def read(cls, data: Mapping[str, Any], *, what: str) -> TokenPayload:
        """The payload from a decrypted JSON object of any known version; ``what`` names it in errors.

        Raises:
            ConfigError: a version newer than this ferry knows, or not a payload at all.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{what}: the stored token payload is not an object")
        version = data.get("v", 1)
        if not isinstance(version, int) or version < 1:
            raise ConfigError(f"{what}: the stored token payload has an unknown version {version!r}")
        if version > PAYLOAD_VERSION:
            raise ConfigError(f"{what} was stored by a newer ferry (token payload version {version}, this ferry reads up to {PAYLOAD_VERSION}): upgrade ferry")
        token = data.get("token")
        secret = data.get("client_secret")
        return cls(
            token=TokenSet.from_response(token) if token else None,
            client_secret=SecretStr(secret) if secret else None,
        )

    def dump(self) -> dict[str, Any]:
        """The current-version JSON object, secrets revealed: only for encrypting."""
        return {
            "v": PAYLOAD_VERSION,
            "token": self.token.to_storage() if self.token is not None else None,
            "client_secret": self.client_secret.get_secret_value() if self.client_secret else None,
        }

    @property
    def secret_value(self) -> str | None:
        return self.client_secret.get_secret_value() if self.client_secret else None

    def with_token(self, token: TokenSet | None) -> TokenPayload:
        return TokenPayload(token=token, client_secret=self.client_secret)
