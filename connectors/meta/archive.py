"""Read a Meta export in place: one zip, a folder, or a folder of zip parts merged into one tree.

Large exports arrive as several ``facebook-<user>-<date>-<rand>.zip`` parts whose trees merge;
a post's JSON can sit in part 1 and its photo in part 3. :class:`MetaArchive` indexes every
member of every part under its path relative to the export root and opens members as streams
(zip member streams or plain files). Nothing is ever extracted, and media are never read whole.

Safety (every rule names the member in a problem or an item error; nothing is opened first):

* member names with ``..`` segments, absolute paths, drive letters or backslashes are not
  indexed; symlinks that leave a folder are ignored the same way.
* zip members whose mode bits (``external_attr``) say symbolic link, directory or special file,
  folder entries that are FIFOs, sockets or devices (``lstat``, never ``open``), and directories
  named like media are indexed with a *refusal*: reading them raises instead of opening them.
* a zip member whose headers claim more than ``max_ratio`` times its compressed size is refused
  the same way; the others are read through :class:`~connectors.readlimits.BoundedReader`, which
  stops at the cap (JSON) or at the ratio limit whatever the headers claim.
* more than ``max_members`` files (counted from the zip's end record, before zipfile builds its
  index) is fatal. Plain files are opened ``O_NONBLOCK`` and checked to be regular with
  ``fstat``, so a file swapped for a FIFO after listing cannot hang the transfer.

Errors:
    FatalError: a zip part is corrupt or truncated (raised while listing, naming the file), the
        location does not exist, or the export holds too many members.
    MemberError: a member cannot be read or parsed (the caller records it and carries on).
"""

from __future__ import annotations

import os
import re
import stat
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import FatalError, ItemError
from ..jsonread import JsonMember, JsonShapeError
from ..readlimits import BoundedReader, LimitExceeded, ReadLimits, human_bytes, read_all
from ..specialfiles import open_regular, special_kind
from ..zipsafety import item_stream, member_refusal, safe_relpath, zip_entry_count
from .mojibake import fix_text

__all__ = [
    "Member",
    "MemberError",
    "MetaArchive",
    "safe_relpath",
    "find_parts",
    "KNOWN_TOP_FOLDERS",
    "zip_entry_count",
]

#: First path segments of Meta exports; a single other top folder is a wrapper and is stripped.
KNOWN_TOP_FOLDERS = frozenset(
    {
        "your_facebook_activity", "your_activity_across_facebook", "this_profile's_activity_across_facebook",
        "posts", "photos_and_videos", "events", "comments", "comments_and_reactions", "messages",
        "profile_information", "personal_information", "connections", "logged_information", "preferences",
        "security_and_login_information", "ads_information", "apps_and_websites_off_of_facebook",
        "your_instagram_activity", "content", "media", "account_information", "files",
    }
)

_MEDIA_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".heic", ".heif", ".webp", ".mp4", ".mov", ".m4v", ".webm", ".3gp")
class MemberError(Exception):
    """A member could not be read or parsed; ``path`` names it."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Member:
    """One file of the merged tree: where it lives (``part``, ``name``) and its byte size.

    ``compressed`` is its size inside the zip (None for a plain file); ``refusal`` says why it
    must not be opened (a symlink, a FIFO, a directory, a zip bomb), or None.
    """

    path: str
    part: int
    name: str
    size: int
    compressed: int | None = None
    refusal: str | None = None


def _natural_key(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def find_parts(folder: Path) -> list[Path]:
    """Zip parts directly inside ``folder``, in natural order (``-2.zip`` before ``-10.zip``)."""
    return sorted((p for p in folder.iterdir() if p.suffix.lower() == ".zip" and p.is_file()), key=_natural_key)


class _SharedMember:
    """A member stream of a shared ZipFile whose ``close`` takes the archive's lock.

    Why: members of one ZipFile may be read from several threads (importers copy in parallel;
    the reads themselves are serialised by zipfile), but ZipFile counts open members without a
    lock; a lost count would close the zip under the other readers.
    """

    def __init__(self, raw: IO[bytes], lock: threading.Lock):
        self._raw = raw
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def close(self) -> None:
        with self._lock:
            self._raw.close()

    def __enter__(self) -> "_SharedMember":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MetaArchive:
    """The merged member index of an export, plus streams over its members.

    Args:
        location: a ``.zip`` file, an extracted folder, or a folder holding zip parts (its loose
            files are indexed too). When two parts hold the same path the first part wins.
        limits: the caps (see :mod:`.limits`).

    Raises:
        FatalError: the location is missing, a zip part is corrupt or truncated, or the export
            holds more than ``limits.max_members`` files.
    """

    def __init__(self, location: Path, limits: ReadLimits | None = None):
        self.location = location
        self.limits = limits or ReadLimits()
        self._count = 0
        self.members: dict[str, Member] = {}
        self.problems: list[tuple[str, str]] = []
        self._zips: list[zipfile.ZipFile | None] = []
        self._roots: list[Path] = []
        self._closed = False
        self._handles = threading.Lock()  # opening and closing zip members (see _SharedMember)
        if not (location.is_file() or location.is_dir()):
            raise FatalError(f"Meta archive not found: {location}")
        try:
            if location.is_file():
                self._add_zip(location)
            else:
                for part in find_parts(location):
                    self._add_zip(part)
                self._add_folder(location)
        except BaseException:
            self.close()  # a later part failed: release the parts already opened
            raise

    # -- indexing ------------------------------------------------------------------------
    def _counted(self, n: int, where: Path) -> None:
        self._count += n
        if self._count > self.limits.max_members:
            raise FatalError(
                f"{where} holds more than {self.limits.max_members:,} files, the limit for one export "
                "(option max_members); is it really a Meta export?"
            )

    def _add_zip(self, path: Path) -> None:
        try:
            declared = zip_entry_count(path)
            if declared is not None:
                self._counted(declared, path)
            zf = zipfile.ZipFile(path)
            infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise FatalError(
                f"cannot read Meta archive {path}: {exc}; the zip is corrupt or incomplete, download it again"
            ) from exc
        if declared is None:
            self._counted(len(infos), path)
        index = len(self._roots)
        self._zips.append(zf)
        self._roots.append(path)
        entries: list[Member] = []
        for info in infos:
            if info.is_dir():
                continue
            rel = safe_relpath(info.filename)
            if rel is None:
                self.problems.append((f"{path.name}:{info.filename}", "unsafe member name (path traversal) ignored"))
                continue
            entries.append(Member(rel, index, info.filename, info.file_size, info.compress_size, self._zip_refusal(info)))
        self._merge(entries)

    def _zip_refusal(self, info: zipfile.ZipInfo) -> str | None:
        return member_refusal(info, self.limits)

    def _add_folder(self, folder: Path) -> None:
        index = len(self._roots)
        self._zips.append(None)
        self._roots.append(folder)
        root = folder.resolve()
        entries: list[Member] = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            self._counted(len(filenames), folder)
            for dirname in dirnames:
                if dirname.lower().endswith(_MEDIA_SUFFIXES):
                    full = Path(dirpath, dirname)
                    entries.append(Member(full.relative_to(folder).as_posix(), index, str(full), 0, None, "is a directory, not a file"))
            for filename in sorted(filenames):
                full = Path(dirpath, filename)
                rel = full.relative_to(folder).as_posix()
                if "/" not in rel and filename.lower().endswith(".zip"):
                    continue  # a part, indexed by _add_zip
                try:
                    info = full.lstat()
                    if stat.S_ISLNK(info.st_mode):
                        target = full.resolve()
                        if not target.is_relative_to(root):
                            self.problems.append((rel, "symlink leaving the archive folder ignored"))
                            continue
                        info = target.stat()
                except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
                    self.problems.append((rel, f"cannot stat: {exc}"))
                    continue
                kind = special_kind(info.st_mode)
                refusal = f"is {kind}, not a regular file; not opened" if kind else None
                entries.append(Member(rel, index, str(full), info.st_size if not kind else 0, None, refusal))
        self._merge(entries)

    def _merge(self, entries: list[Member]) -> None:
        """Add a part's entries, stripping a single wrapper folder (``facebook-jane/...``)."""
        tops = {m.path.split("/", 1)[0] if "/" in m.path else "" for m in entries}
        strip = ""
        if len(tops) == 1 and "" not in tops and next(iter(tops)) not in KNOWN_TOP_FOLDERS:
            strip = next(iter(tops)) + "/"
        for member in entries:
            path = member.path[len(strip):] if strip else member.path
            self.members.setdefault(path, Member(path, member.part, member.name, member.size, member.compressed, member.refusal))

    # -- reading -------------------------------------------------------------------------
    def describe(self, member: Member) -> str:
        """Human location of a member: ``part.zip:path`` or the folder path."""
        root = self._roots[member.part]
        return f"{root.name}:{member.name}" if self._zips[member.part] is not None else member.name

    def open_member(self, member: Member) -> IO[bytes]:
        """Open a raw stream over one member (caller closes it); refused members raise OSError.

        Thread-safe: several threads may open and read members at once, each its own stream.
        """
        if self._closed:
            raise ValueError("archive is closed")
        if member.refusal:
            raise OSError(member.refusal)
        zf = self._zips[member.part]
        if zf is None:
            return open_regular(member.name)
        with self._handles:
            raw = zf.open(member.name)
        return _SharedMember(raw, self._handles)  # type: ignore[return-value]

    def open_guarded(self, member: Member, item_id: str) -> IO[bytes]:
        """Open a member for an item; refusals, open and read failures raise ItemError naming it.

        Zip members are read through a ratio check, so a bomb stops with an ItemError.
        """
        where = self.describe(member)
        if member.refusal:
            raise ItemError(item_id, f"{where} {member.refusal}")
        try:
            raw = self.open_member(member)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise ItemError(item_id, f"cannot open {where}: {exc}") from exc
        bounded = BoundedReader(raw, limit=None, compressed=member.compressed, limits=self.limits, what="this member")
        return item_stream(bounded, item_id, where)

    def read_json(self, path: str) -> JsonMember:
        """Read a JSON member (at most ``limits.max_json_bytes``) for element-wise parsing.

        Raises:
            MemberError: missing, refused, larger than the cap (claimed or real), inflating past
                the ratio limit, unreadable (CRC, truncation) or empty.
        """
        member = self.members.get(path)
        if member is None:
            raise MemberError(path, "missing")
        if member.refusal:
            raise MemberError(path, member.refusal)
        cap = self.limits.max_json_bytes
        if member.size > cap:
            raise MemberError(path, f"is {human_bytes(member.size)}, larger than {human_bytes(cap)}, the limit for JSON files (option max_json_mb); not read")
        try:
            with self.open_member(member) as raw:
                data = read_all(BoundedReader(raw, limit=cap, compressed=member.compressed, limits=self.limits, what="JSON files"))
            return JsonMember(data, fix_text=fix_text)
        except LimitExceeded as exc:
            raise MemberError(path, f"{exc}; not read") from exc
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise MemberError(path, f"cannot read: {exc}") from exc
        except JsonShapeError as exc:
            raise MemberError(path, f"invalid JSON: {exc}") from exc

    def close(self) -> None:
        self._closed = True
        for zf in self._zips:
            if zf is not None:
                zf.close()

