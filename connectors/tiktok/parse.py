"""Open the downloaded zip, read its main JSON document within bounds, and index the other members.

The zip's member names are undocumented. With ``data_format=json`` TikTok ships the same single
file as the in-app download: ``user_data_tiktok.json`` (current) or ``user_data.json`` (older);
failing those, the first ``.json`` member is taken. Every other member is indexed: media files
are paired with their posts (:mod:`.media`), the rest are exported as blob files as they are.

Nothing hostile reaches further than one item (:mod:`connectors.readlimits`,
:mod:`connectors.jsonread`, :mod:`connectors.zipsafety`):

* the member count is read from the zip's end record before the index is built (``max_members``);
* symlinks, directories, FIFOs and devices posing as members, names that would leave the export
  root, and members whose headers claim a bomb's ratio are named as problems, never opened;
* the main document is read through a counting stream that stops at ``max_json_mb`` and at the
  ratio limit whatever the headers claim, and is kept as bytes: each list element and each
  section is parsed on its own when needed (:class:`~connectors.jsonread.JsonMember`), so an
  entry nested 100,000 deep, a 5,001-digit number or a lone surrogate costs that entry only,
  named by its JSON path, while the others transfer.

A document that is not JSON at all (truncated, garbage, too big) is a :class:`MalformedExport`,
a FatalError naming the member and what is wrong.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from ..errors import FatalError
from ..jsonread import Element, JsonMember, JsonShapeError, describe_type
from ..readlimits import BoundedReader, LimitExceeded, ReadLimits, human_bytes, read_all
from ..zipsafety import member_refusal, safe_relpath, zip_entry_count

__all__ = [
    "MalformedExport",
    "ZipMember",
    "TikTokExport",
    "open_zip",
    "load_export",
    "Schema",
    "parse_date",
    "blank",
    "path_text",
]

MAIN_MEMBERS = ("user_data_tiktok.json", "user_data.json")

#: Top-level keys that identify each schema generation (§3.1 of the format notes).
CURRENT_KEYS = {"Post", "Profile And Settings", "Your Activity", "Likes and Favorites", "Direct Message"}
OLDER_KEYS = {"Video", "Profile", "Activity", "Direct Messages", "App Settings"}


class MalformedExport(FatalError):
    """The download cannot be read at all (not a zip, main document not JSON, over a cap)."""


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


def path_text(member: str, *parts: str | int) -> str:
    """Human form of a JSON path inside a member: ``user_data_tiktok.json → Post → Posts``."""
    return " → ".join([member, *map(str, parts)])


@dataclass(frozen=True)
class ZipMember:
    """A file member of the download: its name in the zip, a safe relative path, its sizes."""

    name: str
    path: str
    size: int
    compressed: int
    crc: int


@dataclass
class TikTokExport:
    """A read download: the main document (as bytes, parsed piecewise) and the other members.

    Attributes:
        member: name of the main JSON member ('' when none, e.g. ``text`` format).
        doc: the main document, or None when there is none.
        schema: :class:`Schema` value detected from the top-level keys.
        members: every other file member that may be opened.
        problems: ``(where, message)`` for members and entries skipped while reading.
        volatile: the posts' signed media links (set once the posts are read): never written
            into section files.
    """

    member: str
    doc: JsonMember | None
    schema: str
    members: list[ZipMember] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    volatile: frozenset[str] = frozenset()

    def where(self, *parts: str | int) -> str:
        return path_text(self.member, *parts)

    def type_at(self, *parts: str) -> str | None:
        """``list``, ``object``, ``scalar`` or None (absent) for the value at ``parts``."""
        return self.doc.type_at(*parts) if self.doc is not None else None

    def keys(self, *parts: str) -> list[str]:
        return self.doc.keys(*parts) if self.doc is not None else []

    def value(self, *parts: str) -> Element:
        """The whole value at ``parts`` (parsed on its own; ``error`` says why it was refused)."""
        if self.doc is None:
            return Element(tuple(parts), error="missing")
        return self.doc.value(*parts)

    def list_at(self, *parts: str) -> list[Element]:
        """The elements of the list at ``parts``; blank -> []; another type is a problem, -> []."""
        kind = self.type_at(*parts)
        if kind == "list" and self.doc is not None:
            return self._collect(parts, self.doc.elements(*parts))
        if kind is not None:
            self._blank_or_problem(parts, "a list")
        return []

    def object_at(self, *parts: str) -> list[Element]:
        """The values of the object at ``parts``, key last in each path; like :meth:`list_at`."""
        kind = self.type_at(*parts)
        if kind == "object" and self.doc is not None:
            return self._collect(parts, self.doc.entries(*parts))
        if kind is not None:
            self._blank_or_problem(parts, "an object")
        return []

    def _collect(self, parts: tuple[str, ...], elements: Iterator[Element]) -> list[Element]:
        """The elements up to an unreadable key (named as a problem; the rest is skipped)."""
        found: list[Element] = []
        try:
            for element in elements:
                found.append(element)
        except JsonShapeError as exc:
            self.problems.append((self.where(*parts), f"cannot be read past {exc}; the rest of it is skipped"))
        return found

    def _blank_or_problem(self, parts: tuple[str, ...], expected: str) -> None:
        """Record a problem naming the path unless the value there is blank (no data)."""
        element = self.value(*parts)
        if element.error is None and blank(element.value):
            return
        what = f"cannot be read ({element.error})" if element.error else f"is {describe_type(element.value)}"
        self.problems.append((self.where(*parts), f"{what}, expected {expected}; skipped"))


def _pick_main(names: list[str]) -> str:
    lowered = {n.rsplit("/", 1)[-1].lower(): n for n in names}
    for candidate in MAIN_MEMBERS:
        if candidate in lowered:
            return lowered[candidate]
    jsons = sorted(n for n in names if n.lower().endswith(".json"))
    return jsons[0] if jsons else ""


def detect_schema(keys: list[str]) -> str:
    found = set(keys)
    if found & CURRENT_KEYS:
        return Schema.CURRENT
    if found & OLDER_KEYS:
        return Schema.OLDER
    return Schema.UNKNOWN


def open_zip(fh: IO[bytes], *, source: str, limits: ReadLimits) -> zipfile.ZipFile:
    """Open the staged download, refusing one that declares more members than ``max_members``.

    Raises:
        MalformedExport: not a zip, or too many members (counted before any index is built).
    """
    declared = zip_entry_count(fh)
    if declared is not None and declared > limits.max_members:
        raise MalformedExport(
            f"TikTok download ({source}) holds {declared:,} files, more than {limits.max_members:,}, the limit "
            "for one export (option max_members)"
        )
    fh.seek(0)
    try:
        return zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise MalformedExport(f"TikTok download ({source}) is not a readable zip: {exc}") from None


def _read_main(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: str, limits: ReadLimits) -> JsonMember:
    name = info.filename
    cap = limits.max_json_bytes
    refusal = member_refusal(info, limits)
    if refusal:
        raise MalformedExport(f"TikTok download ({source}): member {name} {refusal}")
    if info.file_size > cap:
        raise MalformedExport(
            f"TikTok download ({source}): member {name} is {human_bytes(info.file_size)}, larger than "
            f"{human_bytes(cap)}, the limit for JSON files (option max_json_mb)"
        )
    try:
        with zf.open(info) as raw:
            data = read_all(BoundedReader(raw, limit=cap, compressed=info.compress_size, limits=limits, what="JSON files"))
        doc = JsonMember(data)
        if doc.root_type != "object":
            raise MalformedExport(
                f"TikTok download ({source}): member {name} holds a JSON {doc.root_type}, expected an object of sections"
            )
        doc.keys()  # walks the whole document once: a structural break is found here, by offset
        return doc
    except LimitExceeded as exc:
        raise MalformedExport(f"TikTok download ({source}): member {name} {exc}") from None
    except JsonShapeError as exc:
        raise MalformedExport(f"TikTok download ({source}): member {name} is not valid JSON: {exc}") from None
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise MalformedExport(f"TikTok download ({source}): member {name} cannot be read: {exc}") from None


def load_export(zf: zipfile.ZipFile, *, source: str, limits: ReadLimits) -> TikTokExport:
    """Index an opened download zip and read its main JSON member within ``limits``.

    Args:
        zf: the staged zip, opened (see :func:`open_zip`).
        source: how to name the download in errors (``request 123``).
        limits: the read caps.

    Raises:
        MalformedExport: the main member is refused, over the cap, not JSON, or not an object;
            the message names the member and what is wrong (a byte offset for broken JSON).
    """
    problems: list[tuple[str, str]] = []
    files: list[tuple[zipfile.ZipInfo, str]] = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        path = safe_relpath(info.filename)
        if path is None:
            problems.append((info.filename, "unsafe member name (it would leave the export folder); skipped"))
            continue
        files.append((info, path))
    main = _pick_main([info.filename for info, _ in files])
    doc = None
    members: list[ZipMember] = []
    for info, path in files:
        if info.filename == main:
            doc = _read_main(zf, info, source, limits)
            continue
        refusal = member_refusal(info, limits)
        if refusal:
            problems.append((path, f"{refusal}; skipped"))
            continue
        members.append(ZipMember(info.filename, path, info.file_size, info.compress_size, info.CRC))
    schema = detect_schema(doc.keys()) if doc is not None else Schema.UNKNOWN
    return TikTokExport(member=main, doc=doc, schema=schema, members=members, problems=problems)
