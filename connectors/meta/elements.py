"""The entries of a Meta JSON member, one at a time, with every bad one named.

Every parser of this package reads its entries through :func:`dict_entries`: it finds the list
at the first of several candidate paths (Meta renames keys between vintages: ``videos_v2`` and
``videos``), yields each entry that is a JSON object, and reports the others, so a bad entry is
one problem naming the file and the entry (``posts/your_posts_1.json[12]: nested 100000 levels
deep``) while the entries around it still move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..jsonread import Element, JsonMember, JsonShapeError, describe_type

__all__ = ["Report", "dict_entries", "entry_subject", "text_field"]

Report = Callable[[str, str], None]


def entry_subject(member: str, element: Element) -> str:
    """How an entry is named in problems: ``member[12]`` or ``member:photos[3]``."""
    where = element.where
    return f"{member}{where}" if where.startswith("[") else f"{member}:{where}"


def dict_entries(
    doc: JsonMember,
    member: str,
    report: Report,
    *candidates: tuple[str, ...],
    what: str,
    required: bool = True,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(subject, entry)`` for each object in the first list found at ``candidates``.

    Args:
        doc: the member.
        member: its path (for messages).
        report: records a problem ``(subject, message)``.
        candidates: key paths from the root; ``()`` is the root itself.
        what: what was expected, for the message when no candidate is a list
            (``"a JSON array of posts"``).
        required: report a missing list (False: an absent list is just empty).
    """
    for path in candidates:
        try:
            kind = doc.type_at(*path)
        except JsonShapeError as exc:
            report(member, f"invalid JSON: {exc}")
            return
        if kind is None:
            continue
        if kind != "list":
            found = doc.value(*path)
            got = describe_type(found.value) if found.error is None else "unreadable"
            label = ".".join(path) if path else "the file"
            report(member, f"expected {what}; {label} is {got}")
            return
        try:
            for element in doc.elements(*path):
                subject = entry_subject(member, element)
                if element.error is not None:
                    report(subject, f"entry skipped: {element.error}")
                elif not isinstance(element.value, dict):
                    report(subject, f"entry skipped: {describe_type(element.value)}, expected an object")
                else:
                    yield subject, element.value
        except JsonShapeError as exc:
            report(member, f"invalid JSON: {exc}; the entries after it were not read")
        return
    if required:
        report(member, f"expected {what}")


def text_field(doc: JsonMember, key: str) -> str | None:
    """A non-empty string at the root object's ``key``, or None."""
    element = doc.fields().get(key)
    value = element.value if element is not None and element.error is None else None
    return value if isinstance(value, str) and value.strip() else None
