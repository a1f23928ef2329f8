"""Undo (and, for fixtures, reproduce) Meta's mojibake.

Meta's JSON exports write every UTF-8 *byte* as its own ``\\u00XX`` escape, so a normal JSON
parser returns ``"RadosÅ\\x82aw"`` for "Radosław". The damage reaches names, captions, titles
and even folder names inside ``uri`` values, so the fix is applied to every string of a parsed
document, keys included.

The repair is idempotent: text that is already correct either contains a code point above
0xFF (it cannot be Latin-1 encoded) or is not valid UTF-8 once re-encoded, and both are kept
as they are. Do not port timelinize's Go ``FixString``, which drops runes above 255.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fix_text", "fix_tree", "meta_escape", "meta_escape_tree"]


def fix_text(text: str) -> str:
    """Return ``text`` with Meta's byte-per-code-point encoding undone (idempotent)."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def fix_tree(value: Any) -> Any:
    """Return a copy of a parsed JSON value with :func:`fix_text` applied to every string."""
    if isinstance(value, str):
        return fix_text(value)
    if isinstance(value, list):
        return [fix_tree(v) for v in value]
    if isinstance(value, dict):
        return {fix_text(k): fix_tree(v) for k, v in value.items()}
    return value


def meta_escape(text: str) -> str:
    """Damage ``text`` the way Meta does; ``json.dumps`` of the result gives Meta's escapes."""
    return text.encode("utf-8").decode("latin-1")


def meta_escape_tree(value: Any) -> Any:
    """Apply :func:`meta_escape` to every string (keys included) of a JSON-able value."""
    if isinstance(value, str):
        return meta_escape(value)
    if isinstance(value, list | tuple):
        return [meta_escape_tree(v) for v in value]
    if isinstance(value, dict):
        return {meta_escape(k): meta_escape_tree(v) for k, v in value.items()}
    return value
