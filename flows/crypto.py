"""Encryption at rest for credentials (cryptography Fernet), and where its key comes from.

The key is either given (settings ``secret_key`` / ``FERRY_SECRET_KEY``; several keys separated
by commas rotate: the first encrypts, all decrypt — ``MultiFernet``) or read from the key file
(``Settings.resolved_key_file``, default ``<data_dir>/secret.key``), which is created on first
use with mode 0600. Creation is race-free: the key is written to a private temporary file and
hard-linked into place, so of two processes starting at once both end up with the same key.

Errors never contain the key: a missing or malformed key, a key file readable by others, or a
key that cannot decrypt a stored credential each raise :class:`CredentialKeyError` naming the
key file (or the setting) and what to do.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from connectors.errors import ConfigError

__all__ = ["CredentialKeyError", "TokenCipher", "cipher_from_settings", "load_or_create_key_file"]


class CredentialKeyError(ConfigError):
    """The encryption key is missing, malformed, exposed or not the one the data was encrypted with."""


def _fernets(keys: list[bytes], origin: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        raise CredentialKeyError(
            f"{origin} is not a valid Fernet key (32 url-safe base64-encoded bytes); "
            "generate one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        ) from None


def load_or_create_key_file(path: Path, *, create: bool = True) -> bytes:
    """Return the key stored in ``path``, creating it (0600, race-free) when missing.

    Raises:
        CredentialKeyError: the file is missing and ``create`` is false, is readable or
            writable by group/others, or is empty.
    """
    path = Path(path).expanduser()
    if not path.exists():
        if not create:
            raise CredentialKeyError(f"key file {path} does not exist; credentials cannot be decrypted without it")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mkstemp files are 0600
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, Fernet.generate_key() + b"\n")
            os.fsync(fd)
            os.close(fd)
            try:
                os.link(tmp, path)  # fails if another process won the race: use its key
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CredentialKeyError(f"key file {path} is accessible by other users (mode {mode:o}); run `chmod 600 {path}`")
    key = path.read_bytes().strip()
    if not key:
        raise CredentialKeyError(f"key file {path} is empty; restore it from a backup (or delete it and log in again)")
    return key


class TokenCipher:
    """Encrypt and decrypt credential payloads (JSON objects) with the configured key.

    Args:
        keys: one or more Fernet keys; the first encrypts.
        origin: where the keys came from, for error messages (``key file /x/secret.key``).
    """

    def __init__(self, keys: list[bytes], *, origin: str):
        self.origin = origin
        self._fernet = _fernets(keys, origin)

    def __repr__(self) -> str:
        return f"TokenCipher({self.origin})"

    def encrypt(self, payload: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode("ascii")

    def decrypt(self, ciphertext: str, *, what: str) -> dict[str, Any]:
        """Decrypt ``ciphertext``; ``what`` names it in errors (``credential 1234``).

        Raises:
            CredentialKeyError: the key is not the one ``ciphertext`` was encrypted with.
        """
        try:
            return json.loads(self._fernet.decrypt(ciphertext.encode("ascii")))
        except (InvalidToken, ValueError):
            raise CredentialKeyError(
                f"cannot decrypt {what} with the key from {self.origin}: it was encrypted with another key. "
                "Restore the original key (or add it to secret_key after a comma), or run `ferry auth login` again"
            ) from None


def cipher_from_settings(settings) -> TokenCipher:
    """The cipher for ``settings``: ``secret_key`` if set, else the key file (created if missing)."""
    if settings.secret_key is not None:
        keys = [k.strip().encode() for k in settings.secret_key.get_secret_value().split(",") if k.strip()]
        if not keys:
            raise CredentialKeyError("setting secret_key (FERRY_SECRET_KEY) is empty")
        return TokenCipher(keys, origin="setting secret_key (FERRY_SECRET_KEY)")
    path = Path(settings.resolved_key_file)
    return TokenCipher([load_or_create_key_file(path)], origin=f"key file {path}")
