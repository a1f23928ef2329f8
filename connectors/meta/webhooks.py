"""Meta Webhooks, pure: the verification handshake, the signature, and access-expiry changes.

Facts (../shared/reference/meta-access-expiry.md, Meta's managed-accounts guidance):

* **Handshake.** Before subscribing, Meta calls ``GET <callback>?hub.mode=subscribe&hub.challenge=<random>
  &hub.verify_token=<the token you configured>`` and expects 200 with the challenge as the body
  when the token matches (403 otherwise): :func:`handshake_challenge`.
* **Signature.** Each POST carries ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body,
  keyed with the app secret>``; :func:`verify_signature` checks it on the bytes as received, in
  constant time (:mod:`connectors.inbound`), before anything parses them.
* **Envelope.** ``{"object": ..., "entry": [{"id": ..., "time": <unix s>, "changes": [{"field": ...,
  "value": {...}}]}]}``; one POST may carry several entries and changes. The managed-account
  change is ``{"field": "migration_expire_time", "value": {"user_id": "<app-scoped id>",
  "migration_expire_time": "2024-05-04T10:00:00Z"}}``; times come as ISO 8601 or Unix seconds.

:func:`parse_expiry_changes` returns the expiry changes and, separately, what it skipped (other
fields, or a change missing its user or time), each named by its place in the envelope
(``entry[0].changes[2].value.user_id``), so one bad change never hides the good ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import FerryError
from ..inbound import hmac_sha256_hex, secrets_equal, signature_matches
from ..oauth import parse_time  # ISO 8601 or Unix seconds, shared with the access-expiry lookup

__all__ = [
    "EXPIRY_FIELDS",
    "SIGNATURE_HEADER",
    "ExpiryChange",
    "MetaWebhookRejected",
    "handshake_challenge",
    "parse_expiry_changes",
    "parse_time",
    "signature_header",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Hub-Signature-256"
#: Change fields (and value keys) that announce when a user's access ends.
EXPIRY_FIELDS = ("migration_expire_time", "user_access_expire_time")


class MetaWebhookRejected(FerryError):
    """A delivery that must not be acted on: bad signature, or a body that is not the envelope."""


def signature_header(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body`` (fakes and tests use it)."""
    return "sha256=" + hmac_sha256_hex(app_secret, body)


def verify_signature(header: str | None, body: bytes, app_secret: str) -> None:
    """Raise MetaWebhookRejected unless ``header`` signs the raw ``body`` with ``app_secret``."""
    if not header:
        raise MetaWebhookRejected(f"missing {SIGNATURE_HEADER} header")
    scheme, sep, given = header.strip().partition("=")
    if not sep or scheme.lower() != "sha256":
        raise MetaWebhookRejected(f"{SIGNATURE_HEADER} header is not sha256=<hex>")
    if not signature_matches(given, app_secret, body):
        raise MetaWebhookRejected(f"{SIGNATURE_HEADER} signature does not match the body")


def handshake_challenge(params: Mapping[str, str], verify_token: str | None) -> str | None:
    """The challenge to echo when ``params`` are a subscribe handshake with our token, else None."""
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return None
    if not secrets_equal(params.get("hub.verify_token", ""), verify_token):
        return None
    return params.get("hub.challenge")


@dataclass(frozen=True)
class ExpiryChange:
    """One "this user's access ends at T" change.

    Attributes:
        user_id: the app-scoped user id the change names.
        expires_at: when the user's access ends (aware UTC).
        field: the change field (``migration_expire_time`` ...).
        where: its place in the envelope (``entry[0].changes[1]``), for logs.
        entry_id: the entry's ``id`` (the object that changed), if given.
    """

    user_id: str
    expires_at: datetime
    field: str
    where: str
    entry_id: str | None = None


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):  # bad JSON, 5,000-digit numbers, deep nesting
        raise MetaWebhookRejected("the body is not JSON (a Meta Webhooks envelope was expected)") from None


def _user_id(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip() or len(str(value)) > 128:
        raise ValueError(f"{where}: expected the app-scoped user id (a string)")
    return str(value).strip()


def parse_expiry_changes(body: bytes) -> tuple[list[ExpiryChange], list[str]]:
    """The expiry changes in a (signature-checked) delivery, and one line per change skipped.

    Raises:
        MetaWebhookRejected: the body is not an envelope (not JSON, no ``entry`` list); names the field.
    """
    document = _load(body)
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        raise MetaWebhookRejected("the body has no 'entry' list (a Meta Webhooks envelope was expected)")
    changes: list[ExpiryChange] = []
    skipped: list[str] = []
    for e, entry in enumerate(document["entry"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            skipped.append(f"entry[{e}]: no 'changes' list")
            continue
        entry_id = entry.get("id")
        entry_id = str(entry_id) if isinstance(entry_id, (str, int)) and not isinstance(entry_id, bool) else None
        for c, change in enumerate(entry["changes"]):
            where = f"entry[{e}].changes[{c}]"
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                skipped.append(f"{where}: no 'value' object")
                continue
            field, value = change.get("field"), change["value"]
            key = next((k for k in EXPIRY_FIELDS if k == field or value.get(k) is not None), None)
            if key is None:
                skipped.append(f"{where}: field {str(field)[:64]!r} is not an access-expiry change")
                continue
            try:
                changes.append(
                    ExpiryChange(
                        user_id=_user_id(value.get("user_id"), f"{where}.value.user_id"),
                        expires_at=parse_time(value.get(key), f"{where}.value.{key}"),
                        field=str(field or key),
                        where=where,
                        entry_id=entry_id,
                    )
                )
            except ValueError as exc:
                skipped.append(str(exc))
    return changes, skipped
