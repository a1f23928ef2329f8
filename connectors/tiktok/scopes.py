"""TikTok portability scopes and the data categories they unlock.

TikTok grants ``portability.<family>.<mode>``: the family says which categories an Add call may
ask for, the mode says how often. A ``.single`` scope allows exactly one Add call (one transfer,
and the credential is revoked afterwards); an ``.ongoing`` one may back a recurring transfer.

Why this module exists: the connector must ask only for what a transfer needs (least privilege at
consent time, see :func:`required_scopes`) and must refuse, before any HTTP call, a transfer that
asks for a category the stored credential does not cover (:func:`check_granted`), so the user gets
"authorize again with X" instead of a 401 half-way through a multi-day wait.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from ..errors import ConfigError

__all__ = [
    "Category",
    "Family",
    "parse_categories",
    "required_scopes",
    "check_granted",
    "revoke_after_transfer",
]


class Category(enum.StrEnum):
    """A value of the Add call's ``category_selection_list``."""

    ALL_DATA = "all_data"
    ACTIVITY = "activity"
    VIDEO = "video"
    PROFILE = "profile"
    DIRECT_MESSAGE = "direct_message"


class Family(enum.StrEnum):
    """The middle part of a portability scope."""

    ALL = "all"
    ACTIVITY = "activity"
    DIRECT_MESSAGES = "directmessages"
    POSTS_AND_PROFILE = "postsandprofile"


_FAMILY_OF: dict[Category, Family] = {
    Category.ALL_DATA: Family.ALL,
    Category.ACTIVITY: Family.ACTIVITY,
    Category.VIDEO: Family.POSTS_AND_PROFILE,
    Category.PROFILE: Family.POSTS_AND_PROFILE,
    Category.DIRECT_MESSAGE: Family.DIRECT_MESSAGES,
}

#: Spellings seen in TikTok's own docs that mean a valid category (the Check example's slip).
_ALIASES = {"direct_messages": Category.DIRECT_MESSAGE, "videos": Category.VIDEO, "all": Category.ALL_DATA}


def parse_categories(value: str | Iterable[str] | None) -> tuple[Category, ...]:
    """Turn ``"video,profile"`` (or a list) into categories; empty means ``all_data``.

    ``all_data`` takes precedence over every other category (TikTok's rule), so a list holding it
    collapses to ``(ALL_DATA,)``. The result is de-duplicated and sorted, so equal selections give
    equal cursors and equal scope lists.

    Raises:
        ConfigError: a value is not a category; the message lists the valid ones.
    """
    if value is None:
        parts: list[str] = []
    elif isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    else:
        parts = [str(p).strip() for p in value]
    found: set[Category] = set()
    for part in filter(None, parts):
        key = part.lower()
        try:
            found.add(_ALIASES.get(key) or Category(key))
        except ValueError:
            valid = ", ".join(c.value for c in Category)
            raise ConfigError(f"unknown TikTok category {part!r} in option 'categories'; valid: {valid}") from None
    if not found or Category.ALL_DATA in found:
        return (Category.ALL_DATA,)
    return tuple(sorted(found))


def _mode(ongoing: bool) -> str:
    return "ongoing" if ongoing else "single"


def required_scopes(categories: Iterable[Category | str], ongoing: bool) -> tuple[str, ...]:
    """Return the fewest scopes that let one Add call ask for ``categories``.

    Args:
        categories: categories (or their string values) the transfer exports.
        ongoing: True for a recurring transfer (``.ongoing``), False for a one-off (``.single``).
    """
    cats = parse_categories([str(c) for c in categories])
    families = sorted({_FAMILY_OF[c] for c in cats})
    return tuple(f"portability.{family}.{_mode(ongoing)}" for family in families)


def _granted_set(granted: Iterable[str] | str) -> set[str]:
    if isinstance(granted, str):
        granted = granted.replace(" ", ",").split(",")
    return {g.strip() for g in granted if g and g.strip()}


def check_granted(categories: Iterable[Category | str], granted: Iterable[str] | str, *, ongoing: bool) -> None:
    """Raise ConfigError unless ``granted`` covers every category for the given mode.

    A family scope covers its categories; ``portability.all.*`` covers all. A one-off transfer
    accepts ``.single`` or ``.ongoing``; a recurring one needs ``.ongoing``.

    Raises:
        ConfigError: names each uncovered category and the scope to grant (never a token).
    """
    have = _granted_set(granted)
    modes = ("ongoing",) if ongoing else ("single", "ongoing")
    missing: list[str] = []
    for cat in parse_categories([str(c) for c in categories]):
        family = _FAMILY_OF[cat]
        ok = any(f"portability.{fam}.{m}" in have for fam in (family, Family.ALL) for m in modes)
        if not ok:
            missing.append(f"{cat.value} needs portability.{family}.{_mode(ongoing)}")
    if missing:
        shown = ", ".join(sorted(have)) or "none"
        kind = "a recurring" if ongoing else "this"
        raise ConfigError(
            f"the TikTok authorization does not allow {kind} transfer: {'; '.join(missing)} "
            f"(granted: {shown}); authorize again with those scopes"
        )


def revoke_after_transfer(granted: Iterable[str] | str) -> bool:
    """True when every granted portability scope is ``.single``: revoke once the transfer is done."""
    portability = [g for g in _granted_set(granted) if g.startswith("portability.")]
    return bool(portability) and all(g.endswith(".single") for g in portability)
