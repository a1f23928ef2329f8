"""Read a Meta export in place: one zip, a folder, or a folder of zip parts merged into one tree.

Large exports arrive as several ``facebook-<user>-<date>-<rand>.zip`` parts whose trees merge;
a post's JSON can sit in part 1 and its photo in part 3. :class:`MetaArchive` indexes every
member of every part under its path relative to the export root and opens members as streams
(zip member streams or plain files). Nothing is ever extracted, and media are never read whole.

Safety: member names with ``..`` segments, absolute paths, drive letters or backslashes are not
indexed, and each is reported as a problem naming the part and the member; symlinks that leave
a folder are ignored the same way.

Errors:
    FatalError: a zip part is corrupt or truncated (raised while listing, naming the file), or
        the location does not exist.
    MemberError: a member cannot be read or parsed (the caller records it and carries on).
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import FatalError, ItemError
from .mojibake import fix_tree

__all__ = ["Member", "MemberError", "MetaArchive", "safe_relpath", "find_parts", "KNOWN_TOP_FOLDERS"]

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

_DRIVE = re.compile(r"^[A-Za-z]:")


class MemberError(Exception):
    """A member could not be read or parsed; ``path`` names it."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def safe_relpath(name: str) -> str | None:
    """Return ``name`` as a clean relative '/' path, or None if it could escape the export root.

    Rejected: absolute paths, drive letters, backslashes, ``..`` segments and NUL characters.
    ``.`` and empty segments are dropped (``a//./b`` becomes ``a/b``).
    """
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or _DRIVE.match(name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


@dataclass(frozen=True)
class Member:
    """One file of the merged tree: where it lives (``part``, ``name``) and its byte size."""

    path: str
    part: int
    name: str
    size: int


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


class _GuardedStream(io.RawIOBase):
    """A member stream whose read errors (CRC mismatch, truncation) become ItemError naming the member."""

    def __init__(self, raw: IO[bytes], item_id: str, where: str):
        self._raw = raw
        self._item_id = item_id
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._raw.read(len(buffer))
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise ItemError(self._item_id, f"cannot read {self._where}: {exc}") from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class MetaArchive:
    """The merged member index of an export, plus streams over its members.

    Args:
        location: a ``.zip`` file, an extracted folder, or a folder holding zip parts (its loose
            files are indexed too). When two parts hold the same path the first part wins.

    Raises:
        FatalError: the location is missing, or a zip part is corrupt or truncated.
    """

    def __init__(self, location: Path):
        self.location = location
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
    def _add_zip(self, path: Path) -> None:
        try:
            zf = zipfile.ZipFile(path)
            infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise FatalError(
                f"cannot read Meta archive {path}: {exc}; the zip is corrupt or incomplete, download it again"
            ) from exc
        index = len(self._roots)
        self._zips.append(zf)
        self._roots.append(path)
        entries: list[tuple[str, str, int]] = []
        for info in infos:
            if info.is_dir():
                continue
            rel = safe_relpath(info.filename)
            if rel is None:
                self.problems.append((f"{path.name}:{info.filename}", "unsafe member name (path traversal) ignored"))
                continue
            entries.append((rel, info.filename, info.file_size))
        self._merge(index, entries)

    def _add_folder(self, folder: Path) -> None:
        index = len(self._roots)
        self._zips.append(None)
        self._roots.append(folder)
        root = folder.resolve()
        entries: list[tuple[str, str, int]] = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for filename in sorted(filenames):
                full = Path(dirpath, filename)
                rel = full.relative_to(folder).as_posix()
                if "/" not in rel and filename.lower().endswith(".zip"):
                    continue  # a part, indexed by _add_zip
                if full.is_symlink() and not full.resolve().is_relative_to(root):
                    self.problems.append((rel, "symlink leaving the archive folder ignored"))
                    continue
                try:
                    size = full.stat().st_size
                except OSError as exc:
                    self.problems.append((rel, f"cannot stat: {exc}"))
                    continue
                entries.append((rel, str(full), size))
        self._merge(index, entries)

    def _merge(self, part: int, entries: list[tuple[str, str, int]]) -> None:
        """Add a part's entries, stripping a single wrapper folder (``facebook-jane/...``)."""
        tops = {rel.split("/", 1)[0] if "/" in rel else "" for rel, _, _ in entries}
        strip = ""
        if len(tops) == 1 and "" not in tops and next(iter(tops)) not in KNOWN_TOP_FOLDERS:
            strip = next(iter(tops)) + "/"
        for rel, name, size in entries:
            path = rel[len(strip):] if strip else rel
            self.members.setdefault(path, Member(path, part, name, size))

    # -- reading -------------------------------------------------------------------------
    def describe(self, member: Member) -> str:
        """Human location of a member: ``part.zip:path`` or the folder path."""
        root = self._roots[member.part]
        return f"{root.name}:{member.name}" if self._zips[member.part] is not None else member.name

    def open_member(self, member: Member) -> IO[bytes]:
        """Open a raw stream over one member (caller closes it).

        Thread-safe: several threads may open and read members at once, each its own stream.
        """
        if self._closed:
            raise ValueError("archive is closed")
        zf = self._zips[member.part]
        if zf is None:
            return open(member.name, "rb")
        with self._handles:
            raw = zf.open(member.name)
        return _SharedMember(raw, self._handles)  # type: ignore[return-value]

    def open_guarded(self, member: Member, item_id: str) -> IO[bytes]:
        """Open a member for an item; open and read failures raise ItemError naming the member."""
        where = self.describe(member)
        try:
            raw = self.open_member(member)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise ItemError(item_id, f"cannot open {where}: {exc}") from exc
        return io.BufferedReader(_GuardedStream(raw, item_id, where), buffer_size=1 << 16)

    def read_json(self, path: str) -> Any:
        """Parse a JSON member and repair its mojibake.

        Raises:
            MemberError: missing, unreadable (CRC, truncation) or not valid JSON.
        """
        member = self.members.get(path)
        if member is None:
            raise MemberError(path, "missing")
        try:
            with self.open_member(member) as stream:
                data = stream.read()
            return fix_tree(json.loads(data.decode("utf-8-sig")))
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise MemberError(path, f"cannot read: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise MemberError(path, f"not UTF-8 text: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise MemberError(path, f"invalid JSON: {exc}") from exc

    def close(self) -> None:
        self._closed = True
        for zf in self._zips:
            if zf is not None:
                zf.close()
