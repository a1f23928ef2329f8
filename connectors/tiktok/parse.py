"""Open the downloaded zip and find the JSON document(s) in it; shared helpers for the verticals.

The zip's member names are undocumented. With ``data_format=json`` TikTok ships the same single
file as the in-app download: ``user_data_tiktok.json`` (current) or ``user_data.json`` (older);
failing those, the first ``.json`` member is taken. Every other member is exported as a blob file
as it is (``zip:`` refs), so nothing is dropped.

The main JSON document is parsed with :func:`json.load` from the zip member stream: it is metadata
(links and texts, no media), typically a few MB. A document that does not parse, or a section of
the wrong type, is a :class:`~connectors.errors.FatalError` naming the member and the JSON path.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from ..errors import FatalError

__all__ = ["TikTokExport", "load_export", "Schema", "parse_date", "blank", "pointer", "resolve", "path_text"]

MAIN_MEMBERS = ("user_data_tiktok.json", "user_data.json")

#: Top-level keys that identify each schema generation (§3.1 of the format notes).
CURRENT_KEYS = {"Post", "Profile And Settings", "Your Activity", "Likes and Favorites", "Direct Message"}
OLDER_KEYS = {"Video", "Profile", "Activity", "Direct Messages", "App Settings"}


class Schema:
    CURRENT = "current"
    OLDER = "older"
    UNKNOWN = "unknown"


def blank(value: Any) -> bool:
    """TikTok's many spellings of "nothing": null, "", "N/A", "None", [] and {}."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in ("", "N/A", "None", "null")
    if isinstance(value, (list, dict)):
        return not value
    return False


def parse_date(value: Any) -> datetime | None:
    """``"YYYY-MM-DD HH:MM:SS"`` with an optional `` UTC`` suffix, read as UTC; else None."""
    if not isinstance(value, str) or blank(value):
        return None
    text = value.strip().removesuffix("UTC").strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def pointer(*parts: str | int) -> str:
    """RFC 6901 JSON pointer of a path (``("Post", "Posts")`` -> ``/Post/Posts``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _unpointer(ptr: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]]


def path_text(member: str, *parts: str | int) -> str:
    """Human form of a JSON path inside a member: ``user_data_tiktok.json → Post → Posts``."""
    return " → ".join([member, *map(str, parts)])


def resolve(doc: Any, ptr: str) -> Any:
    """Follow a JSON pointer made by :func:`pointer`; KeyError/IndexError when absent."""
    node = doc
    for part in _unpointer(ptr):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@dataclass
class TikTokExport:
    """A parsed download: the main document plus the names of every other member.

    Attributes:
        member: name of the main JSON member ('' when none, e.g. ``text`` format).
        doc: its parsed top level (a dict; ``{}`` when there is no main member).
        schema: :class:`Schema` value detected from the top-level keys.
        other_members: every other file member, exported as blobs unchanged.
        problems: ``(where, message)`` for entries skipped while building items.
    """

    member: str
    doc: dict
    schema: str
    other_members: list[zipfile.ZipInfo] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def section(self, *parts: str) -> Any:
        """The value at ``parts`` or None when any level is missing."""
        node: Any = self.doc
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def expect_list(self, *parts: str) -> list:
        """The list at ``parts`` (blank -> []); FatalError naming the path when it is not a list."""
        value = self.section(*parts)
        if blank(value):
            return []
        if not isinstance(value, list):
            raise FatalError(
                f"TikTok download: {path_text(self.member, *parts)} is a {type(value).__name__}, expected a list"
            )
        return value

    def expect_dict(self, *parts: str) -> dict:
        """The object at ``parts`` (blank -> {}); FatalError naming the path when it is not one."""
        value = self.section(*parts)
        if blank(value):
            return {}
        if not isinstance(value, dict):
            raise FatalError(
                f"TikTok download: {path_text(self.member, *parts)} is a {type(value).__name__}, expected an object"
            )
        return value


def _pick_main(names: list[str]) -> str:
    lowered = {n.rsplit("/", 1)[-1].lower(): n for n in names}
    for candidate in MAIN_MEMBERS:
        if candidate in lowered:
            return lowered[candidate]
    jsons = sorted(n for n in names if n.lower().endswith(".json"))
    return jsons[0] if jsons else ""


def detect_schema(doc: dict) -> str:
    keys = set(doc)
    if keys & CURRENT_KEYS:
        return Schema.CURRENT
    if keys & OLDER_KEYS:
        return Schema.OLDER
    return Schema.UNKNOWN


def load_export(zf: zipfile.ZipFile, *, source: str) -> TikTokExport:
    """Parse the main JSON member of an opened download zip.

    Args:
        zf: the staged zip, opened.
        source: how to name the download in errors (``request 123``).

    Raises:
        FatalError: the main member is not JSON, or its top level is not an object; the message
            names the member, the line and column.
    """
    files = [info for info in zf.infolist() if not info.is_dir()]
    main = _pick_main([info.filename for info in files])
    others = [info for info in files if info.filename != main]
    if not main:
        return TikTokExport(member="", doc={}, schema=Schema.UNKNOWN, other_members=others)
    try:
        with zf.open(main) as raw:
            doc = json.load(_text(raw))
    except json.JSONDecodeError as exc:
        raise FatalError(
            f"TikTok download ({source}): member {main} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise FatalError(f"TikTok download ({source}): member {main} is not UTF-8 (byte {exc.start})") from None
    if not isinstance(doc, dict):
        raise FatalError(
            f"TikTok download ({source}): member {main} holds a {type(doc).__name__}, expected an object of sections"
        )
    return TikTokExport(member=main, doc=doc, schema=detect_schema(doc), other_members=others)


def _text(raw: IO[bytes]) -> Iterator[str] | IO[str]:
    import io

    return io.TextIOWrapper(raw, encoding="utf-8-sig")
