"""Turn parts of the export document into BLOBS (JSON files), the fallback for data with no vertical.

Each file's bytes are the JSON of one part of the document (``json:<pointer>`` refs, parsed and
rendered again on demand by :func:`render`). Its id includes a hash of those bytes: an unchanged
section keeps its id across runs (the ledger skips it), a section that grew gets a new id and is
transferred again. The posts' signed media links (``export.volatile``) are written as ``null``:
they expire within hours, the media themselves are delivered as photos and videos, and a link
signed anew for each data request would make an unchanged section look new every round.

A part that cannot be read (nested too deep, a number too long, invalid Unicode) is a problem
naming its JSON path; the other parts are exported.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..jsonread import Element
from ..models import File, stable_id
from ..names import safe_segment
from .parse import TikTokExport, blank

__all__ = ["ROOT", "JSON_PREFIX", "empty", "render", "json_file", "split_section", "section_file_stem", "pointer", "unpointer", "readable"]

ROOT = "/TikTok"
JSON_PREFIX = "json:"


def pointer(*parts: str | int) -> str:
    """RFC 6901 JSON pointer of a path (``("Post", "Posts")`` -> ``/Post/Posts``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def unpointer(ptr: str) -> tuple[str, ...]:
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:])


def section_file_stem(key: str) -> str:
    """A section key as a file name: the colons and dots that end some keys (``"Who can see your
    following list::"``) dropped, then made safe by :func:`connectors.names.safe_segment`."""
    return safe_segment(key.strip(" :._"))


def empty(value: Any) -> bool:
    """Blank, or an object whose every value is empty (``{"FansList": []}``): no data."""
    if blank(value):
        return True
    return isinstance(value, dict) and all(empty(v) for v in value.values())


def _without(value: Any, volatile: frozenset[str]) -> Any:
    if isinstance(value, str):
        return None if value in volatile else value
    if isinstance(value, list):
        return [_without(v, volatile) for v in value]
    if isinstance(value, dict):
        return {k: _without(v, volatile) for k, v in value.items()}
    return value


def render(value: Any, volatile: frozenset[str] = frozenset()) -> bytes:
    """The bytes of a JSON file: stable formatting, signed links out, so equal content gives equal bytes."""
    if volatile:
        value = _without(value, volatile)
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def json_file(export: TikTokExport, folder: str, name: str, parts: tuple[str, ...], value: Any) -> File:
    data = render(value, export.volatile)
    digest = hashlib.sha256(data).hexdigest()
    return File(
        id=stable_id("tiktok", "file", folder, name, digest),
        folder=folder,
        name=name,
        mime_type="application/json",
        size=len(data),
        ref=JSON_PREFIX + pointer(*parts),
    )


def readable(export: TikTokExport, element: Element) -> bool:
    """False (and a problem naming the path) when the part could not be parsed."""
    if element.error is None:
        return True
    export.problems.append((export.where(*element.path), f"cannot be read ({element.error}); not exported"))
    return False


def split_section(export: TikTokExport, key: str, folder: str, *, skip: tuple[str, ...] = ()) -> list[File]:
    """One file per sub-section of top-level ``key`` (or one file when it is not an object).

    Empty sub-sections (null, [], {}, "", or objects of those) are left out: they hold no data.
    """
    kind = export.type_at(key)
    if kind is None:
        return []
    if kind != "object":
        element = export.value(key)
        if not readable(export, element) or empty(element.value):
            return []
        return [json_file(export, ROOT, f"{section_file_stem(key)}.json", (key,), element.value)]
    files = []
    for element in export.object_at(key):
        sub = str(element.path[-1])
        if sub in skip or not readable(export, element) or empty(element.value):
            continue
        files.append(json_file(export, folder, f"{section_file_stem(sub)}.json", (key, sub), element.value))
    return files
