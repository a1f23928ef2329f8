"""Strict validation of Generic Importer envelopes, and the dedupe key of each item.

The reference destination rejects what DTP would never send, so a client that drifts from the
contract (SPEC §4-5) finds out at once: a missing key (DTP always sends every key, ``null`` when
unknown), a wrong JSON type, a payload ``@type`` sent to the wrong endpoint or in the wrong
request kind (JSON vs multipart), a date-time without an offset. Unknown extra keys are
tolerated, so a newer DTP that adds a field still works. Every error names the field by its path
(``payload.favoriteInfo.lastUpdateTime``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["EnvelopeError", "Envelope", "PAYLOAD_TYPES", "FILE_TYPES", "validate_envelope", "dedupe_key"]

#: endpoint suffix -> payload @types it accepts (SPEC §2)
PAYLOAD_TYPES: dict[str, frozenset[str]] = {
    "media": frozenset({"Album", "Photo", "Video"}),
    "blobs": frozenset({"Folder", "File"}),
    "calendar": frozenset({"Calendar", "CalendarEvent"}),
    "social-posts": frozenset({"SocialActivity"}),
}
#: payload @types that come as multipart/related with the file bytes (SPEC §3.3)
FILE_TYPES = frozenset({"Photo", "Video", "File"})

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}(:\d{2})?)$")


class EnvelopeError(ValueError):
    """The body breaks the contract; ``field`` is the JSON path of the first bad field."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


# A field spec is (kind, nullable, extra): kind in str/bool/number/time/object/list/enum/any.
_S = ("str", False, None)
_SN = ("str", True, None)
_B = ("bool", False, None)
_NUM = ("number", False, None)
_T = ("time", False, None)
_TN = ("time", True, None)


def _obj(name: str, nullable: bool = False):
    return ("object", nullable, name)


_SHAPES: dict[str, dict[str, tuple]] = {
    "Album": {"id": _S, "name": _SN, "description": _SN},
    "Photo": {"name": _SN, "description": _SN, "albumId": _SN, "uploadedTime": _T, "favoriteInfo": _obj("FavoriteInfo")},
    "FavoriteInfo": {"lastUpdateTime": _T, "favorite": _B},
    "Folder": {"path": ("path", False, None)},
    "File": {"folder": _S, "name": _SN, "dateModified": _TN},
    "Calendar": {"id": _SN, "name": _SN, "description": _SN},
    "CalendarEvent": {
        "calendarId": _SN,
        "title": _SN,
        "notes": _SN,
        "attendees": ("list", True, "CalendarAttendeeModel"),
        "location": _SN,
        "startTime": _obj("CalendarEventModel$CalendarEventTime", True),
        "endTime": _obj("CalendarEventModel$CalendarEventTime", True),
        "recurrenceRule": ("any", True, None),
    },
    "CalendarAttendeeModel": {"displayName": _SN, "email": _SN, "optional": _B},
    "CalendarEventModel$CalendarEventTime": {"dateTime": _TN, "dateOnly": _B},
    "SocialActivity": {"metadata": _obj("SocialActivityMetadata"), "activity": _obj("SocialActivityModel")},
    "SocialActivityMetadata": {"actor": _obj("SocialActivityActor", True)},
    "SocialActivityActor": {"id": _SN, "name": _SN, "url": _SN},
    "SocialActivityModel": {
        "id": _SN,
        "published": _TN,
        "type": ("enum", True, ("CHECKIN", "POST", "NOTE")),
        "attachments": ("list", False, "SocialActivityAttachment"),
        "location": _obj("SocialActivityLocation", True),
        "title": _SN,
        "content": _SN,
        "url": _SN,
    },
    "SocialActivityAttachment": {"type": ("enum", True, ("LINK", "IMAGE", "VIDEO")), "url": _SN, "name": _SN, "content": _SN},
    "SocialActivityLocation": {"name": _SN, "longitude": _NUM, "latitude": _NUM},
}
_SHAPES["Video"] = _SHAPES["Photo"]


def _check_object(value: Any, where: str, expected_type: str) -> None:
    if not isinstance(value, dict):
        raise EnvelopeError(where, f"must be a JSON object ({expected_type}), got {_json_type(value)}")
    if value.get("@type") != expected_type:
        raise EnvelopeError(f"{where}.@type", f"must be {expected_type!r}, got {value.get('@type')!r}")
    for key, spec in _SHAPES[expected_type].items():
        if key not in value:
            raise EnvelopeError(f"{where}.{key}", "is missing (DTP sends every key, null when unknown)")
        _check_value(value[key], f"{where}.{key}", spec)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", str: "string", int: "number", float: "number", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _check_value(value: Any, where: str, spec: tuple) -> None:
    kind, nullable, extra = spec
    if value is None:
        if nullable:
            return
        raise EnvelopeError(where, "must not be null")
    if kind == "str" and not isinstance(value, str):
        raise EnvelopeError(where, f"must be a string, got {_json_type(value)}")
    if kind == "path" and not (isinstance(value, str) and value.startswith("/")):
        raise EnvelopeError(where, f"must be an absolute '/'-separated path string, got {value!r}")
    if kind == "bool" and not isinstance(value, bool):
        raise EnvelopeError(where, f"must be true or false, got {_json_type(value)}")
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise EnvelopeError(where, f"must be a number, got {_json_type(value)}")
    if kind == "enum" and value not in extra:
        raise EnvelopeError(where, f"must be one of {', '.join(extra)}, got {value!r}")
    if kind == "time":
        if not isinstance(value, str) or not _TIME.match(value):
            raise EnvelopeError(where, f"must be an ISO-8601 date-time with seconds and an offset, got {value!r}")
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise EnvelopeError(where, f"is not a valid date-time: {value!r}") from None
    if kind == "object":
        _check_object(value, where, extra)
    if kind == "list":
        if not isinstance(value, list):
            raise EnvelopeError(where, f"must be an array, got {_json_type(value)}")
        for index, element in enumerate(value):
            _check_object(element, f"{where}[{index}]", extra)


@dataclass(frozen=True)
class Envelope:
    """A validated envelope: the payload ``@type`` and the payload object."""

    kind: str
    payload: dict[str, Any]
    raw: dict[str, Any]


def validate_envelope(document: Any, *, suffix: str, multipart: bool) -> Envelope:
    """Check one parsed envelope against SPEC §4-5 for endpoint ``suffix``.

    Raises:
        EnvelopeError: naming the first bad field.
    """
    if not isinstance(document, dict):
        raise EnvelopeError("(body)", f"must be a JSON object, got {_json_type(document)}")
    if document.get("@type") != "GenericPayload":
        raise EnvelopeError("@type", f"must be 'GenericPayload', got {document.get('@type')!r}")
    for key in ("schemaSource", "apiVersion"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise EnvelopeError(key, f"must be a non-empty string, got {document.get(key)!r}")
    if not document["schemaSource"].startswith("https://"):
        raise EnvelopeError("schemaSource", f"must be an https URL, got {document['schemaSource']!r}")
    if not re.match(r"^0\.\d+\.\d+$", document["apiVersion"]):
        raise EnvelopeError("apiVersion", f"unsupported version {document['apiVersion']!r} (expected 0.x.y)")
    payload = document.get("payload")
    if not isinstance(payload, dict):
        raise EnvelopeError("payload", f"must be a JSON object, got {_json_type(payload)}")
    kind = payload.get("@type")
    allowed = PAYLOAD_TYPES[suffix]
    if kind not in allowed:
        raise EnvelopeError("payload.@type", f"{kind!r} is not accepted at /{suffix} (expected one of {', '.join(sorted(allowed))})")
    if multipart != (kind in FILE_TYPES):
        wanted = "multipart/related with the file bytes" if kind in FILE_TYPES else "application/json"
        raise EnvelopeError("payload.@type", f"{kind} items must be sent as {wanted}")
    _check_object(payload, "payload", kind)
    return Envelope(kind, payload, document)


def _canonical_hash(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dedupe_key(envelope: Envelope, file_sha256: str | None = None) -> str:
    """The key that makes a repeat recognisable (SPEC §7); scoped per account by the caller."""
    payload = envelope.payload
    kind = envelope.kind
    if kind == "Album":
        return _canonical_hash("Album", payload["id"])
    if kind in ("Photo", "Video"):
        return _canonical_hash(kind, payload["albumId"], payload["name"], payload["uploadedTime"], file_sha256)
    if kind == "Folder":
        return _canonical_hash("Folder", payload["path"])
    if kind == "File":
        return _canonical_hash("File", payload["folder"], payload["name"])
    if kind == "Calendar" and payload["id"] is not None:
        return _canonical_hash("Calendar", payload["id"])
    if kind == "SocialActivity" and payload["activity"]["id"] is not None:
        return _canonical_hash("SocialActivity", payload["activity"]["id"])
    return _canonical_hash(kind, payload)
