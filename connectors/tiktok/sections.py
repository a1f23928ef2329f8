"""Turn parts of the export document into BLOBS (JSON files), the fallback for data with no vertical.

Each file's bytes are the JSON of one part of the document (``json:<pointer>`` refs, rendered on
demand by :func:`render`). Its id includes a hash of those bytes: an unchanged section keeps its
id across runs (the ledger skips it), a section that grew gets a new id and is transferred again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..models import File, stable_id
from .parse import TikTokExport, blank, pointer

__all__ = ["ROOT", "JSON_PREFIX", "empty", "render", "json_file", "split_section", "safe_name"]

ROOT = "/TikTok"
JSON_PREFIX = "json:"


def safe_name(name: str) -> str:
    """A file-name-safe form of a section key (``"Who can see your following list::"``)."""
    cleaned = "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in name).strip(" ._")
    return cleaned or "_"


def empty(value: Any) -> bool:
    """Blank, or an object whose every value is empty (``{"FansList": []}``): no data."""
    if blank(value):
        return True
    return isinstance(value, dict) and all(empty(v) for v in value.values())


def render(value: Any) -> bytes:
    """The bytes of a JSON file: stable formatting so equal content gives equal bytes."""
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def json_file(folder: str, name: str, parts: tuple[str, ...], value: Any) -> File:
    data = render(value)
    digest = hashlib.sha256(data).hexdigest()
    return File(
        id=stable_id("tiktok", "file", folder, name, digest),
        folder=folder,
        name=name,
        mime_type="application/json",
        size=len(data),
        ref=JSON_PREFIX + pointer(*parts),
    )


def split_section(export: TikTokExport, key: str, folder: str, *, skip: tuple[str, ...] = ()) -> list[File]:
    """One file per sub-section of top-level ``key`` (or one file when it is not an object).

    Empty sub-sections (null, [], {}, "", or objects of those) are left out: they hold no data.
    """
    value = export.doc.get(key)
    if empty(value):
        return []
    if not isinstance(value, dict):
        return [json_file(ROOT, f"{safe_name(key)}.json", (key,), value)]
    return [
        json_file(folder, f"{safe_name(sub)}.json", (key, sub), subvalue)
        for sub, subvalue in value.items()
        if sub not in skip and not empty(subvalue)
    ]
