"""The Meta archive exporter: pages of photos, videos, posts and events out of a DYI export.

How pages are made: each vertical has a *work list* of units (one JSON member each; all event
files form one unit), in a fixed order of kinds and, within a kind, in the layout's sorted order.
Parsing a unit gives a deterministic item list, and a page is the next ``page_size`` items of the
concatenated lists. The first page of a vertical parses every unit once to build a *claim map*
(media uri -> first unit that lists it), so media referenced from an album and a post are listed
once, by the first unit, and to know ``total_hint``. Later pages reparse only the units they need.

Problem policy (documented contract):

* corrupt/truncated zip, missing location, HTML export, nothing recognisable, more files than
  ``max_members`` -> ``FatalError``.
* a JSON member that is too big, a zip bomb, does not parse or has the wrong shape -> a FAILED
  :class:`~connectors.base.Problem` naming the member; its items are skipped, others go on.
* one bad entry of a member (nested too deep, a huge number, ``NaN``, a lone surrogate, not an
  object) -> a FAILED problem naming the member and the entry (``posts/your_posts_1.json[12]``);
  the other entries of the member go on.
* unsafe member names or media uris (``..``, absolute, backslashes) -> FAILED problems; never followed.
* a media uri that is a web URL -> skipped quietly (thumbnails, placeholders).
* a media entry whose file is not in the archive, or is a symlink, FIFO, directory or zip bomb ->
  the item is listed and ``open_bytes`` raises ``ItemError`` naming the file (counted once).
* every other file of the export that this transfer does not move -> one NOT_TRANSFERRED
  problem each, with the reason (:mod:`.leftovers`), reported with the first page of the
  transfer. Which verticals the transfer moves comes from ``selected`` (option ``verticals``,
  passed by the engine); when it is unknown nothing is listed, since "not selected" and "not
  a vertical" cannot be told apart. The first page plans every selected vertical.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..base import Cursor, Exporter, Page, Problem, ProblemKind
from ..errors import ConfigError, FatalError, ItemError
from ..models import Item, MediaAlbum, Photo, Video, Vertical
from .archive import MemberError, MetaArchive
from .cursor import MetaCursor
from .events import parse_events
from ..jsonread import JsonShapeError
from .layout import Layout, scan
from .leftovers import leftover_reason
from ..readlimits import ReadLimits
from .media import MediaRef, build_media, decode_ref, lookup_member, normalize_uri
from .photos import parse_album, parse_ig_profile_photos, parse_uncategorized
from .posts import parse_fb_group_posts, parse_fb_posts, parse_ig_posts
from .videos import parse_fb_archived_stories, parse_fb_videos, parse_ig_reels, parse_ig_stories

__all__ = ["MetaArchiveExporter", "SUPPORTED_VERTICALS"]

_PARSERS: dict[str, Callable[[Any, str, Callable[[str, str], None]], list[Any]]] = {
    "album": parse_album,
    "uncategorized": parse_uncategorized,
    "fb_videos": parse_fb_videos,
    "fb_posts": parse_fb_posts,
    "fb_group_posts": parse_fb_group_posts,
    "fb_archived_stories": parse_fb_archived_stories,
    "ig_posts": parse_ig_posts,
    "ig_reels": parse_ig_reels,
    "ig_stories": parse_ig_stories,
    "ig_profile_photos": parse_ig_profile_photos,
}

#: Unit kinds per vertical, in work-list order (albums first, so album media keep their album).
_WORK: dict[Vertical, tuple[str, ...]] = {
    Vertical.PHOTOS: (
        "album", "uncategorized", "fb_posts", "fb_group_posts", "fb_archived_stories", "ig_posts", "ig_stories",
        "ig_profile_photos",
    ),
    Vertical.VIDEOS: ("album", "fb_videos", "fb_posts", "fb_group_posts", "fb_archived_stories", "ig_posts", "ig_reels", "ig_stories"),
    Vertical.SOCIAL_POSTS: ("fb_posts", "fb_group_posts", "ig_posts"),
    Vertical.CALENDAR: ("events",),
}
SUPPORTED_VERTICALS = frozenset(_WORK)
_MEDIA_KIND = {Vertical.PHOTOS: "photo", Vertical.VIDEOS: "video"}


@dataclass(frozen=True)
class _Unit:
    kind: str
    members: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.members[0]}"


@dataclass
class _Plan:
    units: list[_Unit] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    claims: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts)


class MetaArchiveExporter(Exporter):
    """Exports a Meta (Facebook/Instagram) "Download Your Information" JSON archive.

    Args:
        location: a ``.zip``, an extracted folder, or a folder of zip parts.
        page_size: items per page (positive).
        limits: the read caps (:mod:`.limits`); defaults when None.
        selected: the verticals this transfer moves, for the NOT_TRANSFERRED listing; None (not
            known) lists nothing.

    The archive is opened lazily on first use; ``close()`` releases the zip handles, and a later
    call reopens them.
    """

    cursor_model = MetaCursor
    service_name = "meta"

    def __init__(
        self,
        location: str | Path,
        *,
        page_size: int = 200,
        limits: ReadLimits | None = None,
        selected: frozenset[Vertical] | None = None,
    ):
        if page_size < 1:
            raise ConfigError(f"meta: page_size must be at least 1, got {page_size}")
        self.location = Path(location).expanduser()
        self.page_size = page_size
        self.limits = limits or ReadLimits()
        self.selected = None if selected is None else frozenset(selected & SUPPORTED_VERTICALS)
        self._used: set[str] = set()  # member paths read, or referenced by an item listed
        self._surveyed = False
        self._archive: MetaArchive | None = None
        self._layout: Layout | None = None
        self._plans: dict[Vertical, _Plan] = {}
        self._entries: OrderedDict[str, list[Any]] = OrderedDict()
        self._items: OrderedDict[tuple[Vertical, str], list[Item]] = OrderedDict()
        self._problems: list[Problem] = []
        self._reported: set[tuple[str, str]] = set()
        self._lock = threading.RLock()  # open_bytes may be called from several threads

    # -- opening -----------------------------------------------------------------------------
    def check(self) -> None:
        """The archive opens (every part's directory reads) and holds JSON ferry recognises."""
        self._open()

    def _open(self) -> MetaArchive:
        with self._lock:
            return self._open_locked()

    def _open_locked(self) -> MetaArchive:
        if self._archive is None:
            archive = MetaArchive(self.location, self.limits)
            layout = scan(archive.members)
            if layout.is_empty:
                archive.close()
                if layout.html:
                    raise FatalError(
                        f"{self.location} is an HTML export (found {layout.html[0]}); ferry reads JSON only: "
                        "in Meta's 'Download your information' choose Format: JSON and export again"
                    )
                raise FatalError(
                    f"{self.location} holds no Facebook or Instagram JSON that ferry recognises "
                    "(looked for e.g. your_facebook_activity/posts/album/0.json, "
                    "your_instagram_activity/media/posts_1.json)"
                )
            for where, message in archive.problems:
                self._report(where, message)
            self._archive, self._layout = archive, layout
        return self._archive

    def _report(self, where: str, message: str, kind: ProblemKind = ProblemKind.FAILED) -> None:
        if (where, message) not in self._reported:
            self._reported.add((where, message))
            self._problems.append(Problem(where, message, kind))

    # -- units -------------------------------------------------------------------------------
    def _work_list(self, vertical: Vertical) -> list[_Unit]:
        self._open()
        assert self._layout is not None
        units: list[_Unit] = []
        for kind in _WORK[vertical]:
            members = self._layout[kind]
            if kind == "events":
                if members:
                    units.append(_Unit(kind, tuple(members)))
            else:
                units.extend(_Unit(kind, (m,)) for m in members)
        return units

    def _parse(self, unit: _Unit) -> list[Any]:
        cached = self._entries.get(unit.key)
        if cached is not None:
            self._entries.move_to_end(unit.key)
            return cached
        archive = self._open()
        docs: list[tuple[str, Any]] = []
        for member in unit.members:
            self._used.add(member)
            try:
                docs.append((member, archive.read_json(member)))
            except MemberError as exc:
                self._report(exc.path, exc.message)
        try:
            if unit.kind == "events":
                entries = parse_events(docs, self._report)
            else:
                entries = _PARSERS[unit.kind](docs[0][1], docs[0][0], self._report) if docs else []
        except JsonShapeError as exc:  # a break the parser did not expect; its entries are lost
            self._report(unit.members[0], f"invalid JSON: {exc}")
            entries = []
        del docs  # the members' bytes: only the parsed entries are kept
        self._entries[unit.key] = entries
        while len(self._entries) > 4:
            self._entries.popitem(last=False)
        return entries

    def _unit_items(self, vertical: Vertical, unit: _Unit, claims: dict[str, str], planning: bool) -> list[Item]:
        """Items of ``unit`` for ``vertical``; keys claimed by earlier units are left out."""
        cache_key = (vertical, unit.key)
        if not planning and cache_key in self._items:
            return self._items[cache_key]
        archive = self._open()
        local: set[str] = set()

        def claim(key: str) -> bool:
            if key in local:
                return False
            if planning:
                if key in claims:
                    return False
                claims[key] = unit.key
            elif claims.get(key) != unit.key:
                return False
            local.add(key)
            return True

        wanted = _MEDIA_KIND.get(vertical)
        out: list[Item] = []
        for entry in self._parse(unit):
            if isinstance(entry, MediaRef):
                if wanted is None:
                    continue
                item = build_media(entry, archive.members, self._report)
                if planning and item is not None and item.kind == wanted:
                    self._note_used(archive, entry)
                if item is None or item.kind != wanted or not claim("media:" + item.id):
                    continue
                if entry.album is not None and claim("album:" + entry.album.id):
                    out.append(entry.album.item())
                out.append(item)
            elif isinstance(entry, MediaAlbum):
                if vertical == Vertical.PHOTOS and claim("album:" + entry.id):
                    out.append(entry)
            elif entry.kind == "post":
                if vertical == Vertical.SOCIAL_POSTS and claim("post:" + entry.id):
                    out.append(entry)
            elif vertical == Vertical.CALENDAR and claim(f"{entry.kind}:{entry.id}"):
                out.append(entry)
        if not planning:
            self._items[cache_key] = out
            while len(self._items) > 2:
                self._items.popitem(last=False)
        return out

    def _plan(self, vertical: Vertical) -> _Plan:
        plan = self._plans.get(vertical)
        if plan is None:
            plan = _Plan()
            for unit in self._work_list(vertical):
                count = len(self._unit_items(vertical, unit, plan.claims, planning=True))
                if count:
                    plan.units.append(unit)
                    plan.counts.append(count)
            self._plans[vertical] = plan
        return plan

    # -- Exporter API ------------------------------------------------------------------------
    def list_page(self, vertical: Vertical, cursor: Cursor | None) -> Page:
        """Return up to ``page_size`` items of ``vertical`` starting at ``cursor``.

        Raises:
            ConfigError: the vertical is not one this connector exports, or a foreign cursor.
            FatalError: the archive is unreadable, or it changed so the cursor no longer fits.
        """
        vertical = Vertical(vertical)
        if vertical not in _WORK:
            supported = ", ".join(sorted(v.value for v in _WORK))
            raise ConfigError(f"meta cannot export {vertical.value}; it exports {supported}")
        self._survey()
        plan = self._plan(vertical)
        unit, offset = self._resume(plan, cursor)
        items: list[Item] = []
        while unit < len(plan.units) and len(items) < self.page_size:
            unit_items = self._unit_items(vertical, plan.units[unit], plan.claims, planning=False)
            take = unit_items[offset : offset + self.page_size - len(items)]
            items.extend(take)
            offset += len(take)
            if offset >= len(unit_items):
                unit, offset = unit + 1, 0
        nxt = MetaCursor(unit=unit, unit_key=plan.units[unit].key, offset=offset) if unit < len(plan.units) else None
        return Page(items=tuple(items), next=nxt, total_hint=plan.total)

    def _note_used(self, archive: MetaArchive, entry: MediaRef) -> None:
        rel, _ = normalize_uri(entry.media.get("uri"))
        member = lookup_member(archive.members, rel) if rel else None
        if member is not None:
            self._used.add(member.path)

    def _survey(self) -> None:
        """Once: plan every selected vertical, then name each file none of them takes."""
        if self._surveyed:
            return
        self._surveyed = True
        if self.selected is None:
            return  # the transfer's verticals are unknown: "not selected" cannot be told apart
        archive = self._open()
        assert self._layout is not None
        for vertical in sorted(self.selected):
            self._plan(vertical)
        feeds: dict[str, set[Vertical]] = {}
        for vertical, kinds in _WORK.items():
            for kind in kinds:
                for path in self._layout[kind]:
                    feeds.setdefault(path, set()).add(vertical)
        for path in sorted(archive.members):
            if path in self._used:
                if Vertical.SOCIAL_POSTS in feeds.get(path, ()) and Vertical.SOCIAL_POSTS not in self.selected:
                    moving = ", ".join(sorted(v.value for v in self.selected))
                    self._report(path, f"its posts were not transferred: social-posts is not selected, this transfer moves {moving} (--types)", ProblemKind.NOT_TRANSFERRED)
                continue
            member = archive.members[path]
            reason = leftover_reason(path, selected=self.selected, unit_verticals=feeds.get(path, ()))
            if member.refusal:
                reason = f"{reason}; it {member.refusal}"
            self._report(path, reason, ProblemKind.NOT_TRANSFERRED)

    def _resume(self, plan: _Plan, cursor: Cursor | None) -> tuple[int, int]:
        if cursor is None:
            return 0, 0
        if not isinstance(cursor, MetaCursor):
            raise ConfigError(f"meta got a cursor of type {type(cursor).__name__}, expected MetaCursor")
        keys = [u.key for u in plan.units]
        if cursor.unit < len(keys) and keys[cursor.unit] == cursor.unit_key:
            return cursor.unit, cursor.offset
        if cursor.unit_key in keys:
            return keys.index(cursor.unit_key), cursor.offset
        raise FatalError(
            f"{self.location} changed since this transfer started: {cursor.unit_key} is no longer in it; "
            "start a new transfer"
        )

    def open_bytes(self, item: Item) -> IO[bytes]:
        """Stream the member behind a Photo or Video (never read whole).

        Raises:
            ItemError: the item is not media from this connector, its file is missing
                ("missing file <uri> referenced by <json member>"), or it cannot be read.
        """
        if not isinstance(item, Photo | Video):
            raise ItemError(item.id, f"meta has no bytes for a {getattr(item, 'kind', type(item).__name__)}")
        try:
            uri, source = decode_ref(item.ref)
        except (ValueError, KeyError, TypeError) as exc:
            raise ItemError(item.id, f"not a meta media reference: {item.ref!r}") from exc
        archive = self._open()
        member = lookup_member(archive.members, uri)
        if member is None:
            raise ItemError(item.id, f"missing file {uri} referenced by {source}")
        return archive.open_guarded(member, item.id)

    def problems(self) -> list[Problem]:
        """Return and clear the problems found so far (each reported once per exporter)."""
        found, self._problems = self._problems, []
        return found

    def close(self) -> None:
        with self._lock:
            if self._archive is not None:
                self._archive.close()
                self._archive = None
