"""Where each kind of JSON lives in a Meta export, for every layout vintage we know.

Meta moves files every year or two, so each kind is matched by a pattern that accepts all known
vintages at once (see the table in the design notes, ``source-formats.md`` §1.2 and §2):

================  ======================================  =====================================
kind              Facebook                                 Instagram
================  ======================================  =====================================
album             ``[P]{posts,photos_and_videos}/album/<n>.json``
uncategorized     ``[P]{posts,photos_and_videos}/your_uncategorized_photos.json``
fb_videos         ``[P]{posts,photos_and_videos}/your_videos.json``
fb_posts          ``[P]posts/your_posts*_<n>.json`` (also ``profile_posts_<n>``)
events            ``[P]events/{your_event_responses,event_invitations,your_events}.json``
fb_group_posts    ``[P]groups/your_posts_in_groups.json``
fb_archived_st.   ``[P]stories/archived_stories.json``
ig_posts                                                   ``[I]{content,media}/posts_<n>.json``
ig_reels                                                   ``[I]{content,media}/reels.json``
ig_stories                                                 ``[I]{content,media}/stories.json``
ig_profile_photos                                          ``[I]{content,media}/profile_photos.json``
================  ======================================  =====================================

``[P]`` is empty (≤2023), ``your_activity_across_facebook/`` (some 2024), ``your_facebook_activity/``
(2024+) or ``this_profile's_activity_across_facebook/``; ``[I]`` is empty (2022-23 ``content/``)
or ``your_instagram_activity/`` (2024 ``content/``, 2025+ ``media/``). The same patterns with
``.html`` detect an HTML export, which ferry cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Layout", "scan", "UNIT_KINDS"]

_FB = r"(?P<prefix>(?:your_facebook_activity/|your_activity_across_facebook/|this_profile's_activity_across_facebook/)?)"
_FB_MEDIA_DIR = r"(?:posts|photos_and_videos)/"
_IG = r"(?P<prefix>(?:your_instagram_activity/)?)(?:content|media)/"
_EXT = r"\.(?P<ext>json|html)$"

_PATTERNS: dict[str, re.Pattern[str]] = {
    "album": re.compile("^" + _FB + _FB_MEDIA_DIR + r"album/(?P<n>\d+)" + _EXT),
    "uncategorized": re.compile("^" + _FB + _FB_MEDIA_DIR + r"your_uncategorized_photos" + _EXT),
    "fb_videos": re.compile("^" + _FB + _FB_MEDIA_DIR + r"your_videos" + _EXT),
    "fb_posts": re.compile("^" + _FB + r"posts/(?:your_posts|profile_posts)[^/]*?_(?P<n>\d+)" + _EXT),
    "events": re.compile("^" + _FB + r"events/(?:your_event_responses|event_invitations|your_events)" + _EXT),
    "fb_group_posts": re.compile("^" + _FB + r"groups/your_posts_in_groups" + _EXT),
    "fb_archived_stories": re.compile("^" + _FB + r"stories/archived_stories" + _EXT),
    "ig_posts": re.compile("^" + _IG + r"posts_(?P<n>\d+)" + _EXT),
    "ig_reels": re.compile("^" + _IG + r"reels" + _EXT),
    "ig_stories": re.compile("^" + _IG + r"stories" + _EXT),
    "ig_profile_photos": re.compile("^" + _IG + r"profile_photos" + _EXT),
}

#: Unit kinds in the order the scanner reports them.
UNIT_KINDS = tuple(_PATTERNS)


@dataclass
class Layout:
    """JSON members found per kind, each list in a deterministic order; ``html`` lists HTML twins."""

    found: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in UNIT_KINDS})
    html: list[str] = field(default_factory=list)

    def __getitem__(self, kind: str) -> list[str]:
        return self.found[kind]

    @property
    def is_empty(self) -> bool:
        return not any(self.found.values())


def _sort_key(match: re.Match[str], path: str) -> tuple:
    number = match.groupdict().get("n")
    return (match.group("prefix"), int(number) if number is not None else -1, path)


def scan(paths: Iterable[str]) -> Layout:
    """Classify member paths into a :class:`Layout` (files are sorted by prefix, then number)."""
    keyed: dict[str, list[tuple[tuple, str]]] = {k: [] for k in UNIT_KINDS}
    layout = Layout()
    for path in paths:
        for kind, pattern in _PATTERNS.items():
            match = pattern.match(path)
            if match is None:
                continue
            if match.group("ext") == "html":
                layout.html.append(path)
            else:
                keyed[kind].append((_sort_key(match, path), path))
            break
    for kind, entries in keyed.items():
        layout.found[kind] = [path for _, path in sorted(entries)]
    layout.html.sort()
    return layout
