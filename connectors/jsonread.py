"""Read one JSON member element by element, so one hostile entry costs one item, not the file.

Shared by the connectors that read exports (Meta's archives, TikTok's download); a connector
whose service garbles text passes a repair for it (``fix_text``: Meta's mojibake).

Why not ``json.loads`` of the whole member: one entry nested 100,000 deep (RecursionError), one
5,001-digit number (``int`` max_str_digits ValueError) or one ``NaN`` fails the whole file, and a
lone surrogate (``"\\ud800"``) parses fine but breaks pydantic serialization much later, when the
item is written. Here a small structural scanner (no recursion: a depth counter) finds the
*elements* of the member's lists and each element is parsed on its own:

* ``JsonMember.elements()`` yields the elements of the root array; ``elements("photos")`` those of
  the list under the root object's ``photos`` key; ``elements("event_responses_v2",
  "events_joined")`` one level deeper. ``fields()`` gives the root object's other values.
* ``entries("Post")`` yields the values of an object's keys, each parsed on its own, and
  ``keys("Post")`` just the keys (nothing parsed).
* every element is an :class:`Element`: the parsed value (text repaired by ``fix_text`` when
  given, every string checked) or ``error`` saying why it was refused: nested deeper than :data:`MAX_DEPTH`, a number
  longer than :data:`MAX_NUMBER_DIGITS` digits, ``NaN``/``Infinity``, an invalid Unicode escape
  (lone surrogate), bytes that are not UTF-8, or invalid JSON.
* a structural break (truncated file, garbage between elements) ends the iteration with
  :class:`JsonShapeError` naming the byte offset; the elements before it were already yielded.

Memory: the member's bytes (at most the cap, see :mod:`.limits`) plus one element at a time;
the decoded text of the whole file and its whole parsed tree never exist at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Element", "JsonMember", "JsonShapeError", "MAX_DEPTH", "MAX_NUMBER_DIGITS", "describe_type"]

#: Deepest nesting accepted inside one element (Meta's real files stay under 10).
MAX_DEPTH = 64
#: Longest number accepted (epoch milliseconds have 13 digits).
MAX_NUMBER_DIGITS = 40

_WS = re.compile(rb"[ \t\r\n]*")
#: A whole string; possessive quantifiers, so a string of millions of escapes costs no stack.
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
#: Everything up to the next bracket outside a string (strings are consumed whole, in C).
_SKIP = re.compile(rb'(?:[^"\[\]{}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.DOTALL)
_SCALAR = re.compile(rb"[^,\]}\s]*")
#: A repair applied to every string (keys included) of an element: Meta's mojibake fix.
TextFix = Callable[[str], str]

#: Source text whose strings may need repair (mojibake, U+0080-U+00FF) or checking (surrogates).
_NEEDS_CLEAN = re.compile(r"\\u00[89a-fA-F]|\\u[dD][89a-fA-F]|[^\x00-\x7f]")


class JsonShapeError(ValueError):
    """The member is not JSON at byte ``offset`` (truncated, unbalanced, garbage)."""

    def __init__(self, offset: int, message: str):
        super().__init__(f"{message} at byte {offset}")
        self.offset = offset


@dataclass(frozen=True)
class Element:
    """One element of a list (or one field) of a JSON member.

    Attributes:
        path: keys and indexes from the root, e.g. ``(12,)`` or ``("photos", 3)``.
        value: the parsed value (None when ``error`` is set).
        error: why the element was refused, or None.
    """

    path: tuple[str | int, ...]
    value: Any = None
    error: str | None = None

    @property
    def where(self) -> str:
        """The path as people read it: ``[12]``, ``photos[3]``, ``event_responses_v2.events_joined[0]``."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


def describe_type(value: Any) -> str:
    """JSON's name for the type of a parsed value (for "expected a list, got a string")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class _Refused(ValueError):
    """An element value ferry will not carry (raised by the parse hooks)."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _Refused(f"a number with {len(text.lstrip('-'))} digits (more than {MAX_NUMBER_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS + 10:
        raise _Refused(f"a number written with {len(text)} characters (more than {MAX_NUMBER_DIGITS + 10})")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"a number out of range ({text[:20]})")
    return value


def _parse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)


def _checked_text(text: str, fix: TextFix | None = None) -> str:
    """Repair the text (``fix``) and refuse strings that are not valid Unicode (lone surrogates)."""
    if fix is not None:
        text = fix(text)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = ord(text[exc.start])
            raise _Refused(f"text holds an invalid Unicode character (lone surrogate U+{bad:04X})") from None
    return text


def _clean(value: Any, fix: TextFix | None) -> Any:
    """Repair and check every string of a parsed value, keys included, without recursion."""
    if isinstance(value, str):
        return _checked_text(value, fix)
    if not isinstance(value, list | dict):
        return value
    root: list[Any] = [value]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, value)]
    while stack:
        parent, slot, node = stack.pop()
        if isinstance(node, list):
            copy: Any = list(node)
            for i, child in enumerate(copy):
                if isinstance(child, str):
                    copy[i] = _checked_text(child, fix)
                elif isinstance(child, list | dict):
                    stack.append((copy, i, child))
        else:
            copy = {}
            for key, child in node.items():
                key = _checked_text(key, fix)
                if isinstance(child, str):
                    copy[key] = _checked_text(child, fix)
                else:
                    copy[key] = child
                    if isinstance(child, list | dict):
                        stack.append((copy, key, child))
        parent[slot] = copy
    return root[0]


def _skip_ws(buf: bytes | bytearray, pos: int) -> int:
    return _WS.match(buf, pos).end()  # type: ignore[union-attr]


def _value_end(buf: bytes | bytearray, pos: int) -> tuple[int, int]:
    """End offset and nesting depth of the value starting at ``pos`` (no recursion)."""
    if pos >= len(buf):
        raise JsonShapeError(pos, "the file ends where a value was expected")
    first = buf[pos : pos + 1]
    if first == b'"':
        match = _STRING.match(buf, pos)
        if match is None:
            raise JsonShapeError(pos, "a string is not closed")
        return match.end(), 0
    if first not in (b"[", b"{"):
        end = _SCALAR.match(buf, pos).end()  # type: ignore[union-attr]
        if end == pos:
            raise JsonShapeError(pos, f"unexpected {first.decode('latin-1')!r}")
        return end, 0
    depth = deepest = 0
    closers: list[int] = []
    skip, size = _SKIP.match, len(buf)
    while True:
        pos = skip(buf, pos).end()  # type: ignore[union-attr]
        if pos >= size:
            raise JsonShapeError(size, "the file ends inside a list or object")
        char = buf[pos]
        if char == 0x22:  # '"' the skip could not consume: a string that never closes
            raise JsonShapeError(pos, "a string is not closed")
        if char in (0x5B, 0x7B):  # '[', '{'
            closers.append(char + 2)  # ']' and '}' are two code points after their openers
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            if not closers or closers.pop() != char:
                raise JsonShapeError(pos, f"unbalanced {chr(char)!r}")
            depth -= 1
            if depth == 0:
                return pos + 1, deepest
        pos += 1


def _parse_span(buf: bytes | bytearray, start: int, end: int, depth: int, path: tuple[str | int, ...], fix: TextFix | None) -> Element:
    if depth > MAX_DEPTH:
        return Element(path, error=f"nested {depth} levels deep (more than {MAX_DEPTH})")
    try:
        text = str(memoryview(buf)[start:end], "utf-8")  # no copy of the raw slice
    except UnicodeDecodeError as exc:
        return Element(path, error=f"bytes that are not UTF-8 text ({exc.reason} at byte {start + exc.start})")
    try:
        value, stop = _DECODER.raw_decode(text)
        if stop != len(text):
            raise ValueError(f"extra data at byte {start + stop}")
        return Element(path, _clean(value, fix) if _NEEDS_CLEAN.search(text) else value)
    except _Refused as exc:
        return Element(path, error=str(exc))
    except RecursionError:  # pragma: no cover - MAX_DEPTH is far below the interpreter's limit
        return Element(path, error="nested too deeply")
    except ValueError as exc:  # JSONDecodeError, int digit limits
        return Element(path, error=f"invalid JSON: {exc}")


def _kind(first: bytes | bytearray) -> str:
    if first == b"[":
        return "list"
    return "object" if first == b"{" else "scalar"


class JsonMember:
    """A JSON document held as bytes (at most the member cap), read a piece at a time.

    Args:
        data: the member's bytes (a UTF-8 BOM is skipped).
        fix_text: a repair applied to every string of every element (None: none).

    Raises (from the iterators):
        JsonShapeError: the document is structurally broken; elements before the break were
            yielded already.
    """

    def __init__(self, data: bytes | bytearray, *, fix_text: TextFix | None = None):
        self._buf = data
        self._fix = fix_text
        start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
        self._root = _skip_ws(data, start)
        if self._root >= len(data):
            raise JsonShapeError(self._root, "the file is empty")

    @property
    def root_type(self) -> str:
        """``"list"``, ``"object"`` or ``"scalar"``."""
        return _kind(self._buf[self._root : self._root + 1])

    # -- walking -------------------------------------------------------------------------
    def _key_at(self, pos: int) -> tuple[str, int]:
        """The key starting at ``pos`` and the offset of its value (after ``:``)."""
        buf = self._buf
        if buf[pos : pos + 1] != b'"':
            raise JsonShapeError(pos, "expected a quoted key")
        key_end, _ = _value_end(buf, pos)
        try:
            key = _checked_text(json.loads(bytes(buf[pos:key_end]).decode("utf-8")), self._fix)
        except (ValueError, _Refused) as exc:
            raise JsonShapeError(pos, f"unreadable key ({exc})") from None
        pos = _skip_ws(buf, key_end)
        if buf[pos : pos + 1] != b":":
            raise JsonShapeError(pos, "expected ':' after a key")
        return key, _skip_ws(buf, pos + 1)

    def _after_value(self, end: int, closer: bytes) -> int | None:
        """Offset of the next entry after a value ending at ``end``, or None at ``closer``."""
        buf = self._buf
        pos = _skip_ws(buf, end)
        sep = buf[pos : pos + 1]
        if sep == closer:
            return None
        if sep != b",":
            raise JsonShapeError(pos, f"expected ',' or {closer.decode()!r}")
        return _skip_ws(buf, pos + 1)

    def _object_entries(self, pos: int) -> Iterator[tuple[str, int, int, int]]:
        """``(key, value start, value end, value depth)`` of the object at ``pos``."""
        pos = _skip_ws(self._buf, pos + 1)
        if self._buf[pos : pos + 1] == b"}":
            return
        while True:
            key, start = self._key_at(pos)
            end, depth = _value_end(self._buf, start)
            yield key, start, end, depth
            nxt = self._after_value(end, b"}")
            if nxt is None:
                return
            pos = nxt

    def _array_items(self, pos: int) -> Iterator[tuple[int, int, int]]:
        """``(start, end, depth)`` of each element of the array at ``pos``."""
        pos = _skip_ws(self._buf, pos + 1)
        if self._buf[pos : pos + 1] == b"]":
            return
        while True:
            end, depth = _value_end(self._buf, pos)
            yield pos, end, depth
            nxt = self._after_value(end, b"]")
            if nxt is None:
                return
            pos = nxt

    def _find(self, path: tuple[str, ...]) -> int | None:
        """Start offset of the value at ``path`` (object keys from the root), or None if absent.

        Values before the one wanted are skipped; the wanted one is not scanned here, so a list
        truncated half-way still yields its first elements.
        """
        buf, start = self._buf, self._root
        for key in path:
            if buf[start : start + 1] != b"{":
                return None
            pos = _skip_ws(buf, start + 1)
            if buf[pos : pos + 1] == b"}":
                return None
            while True:
                name, value_start = self._key_at(pos)
                if name == key:
                    start = value_start
                    break
                end, _ = _value_end(buf, value_start)
                nxt = self._after_value(end, b"}")
                if nxt is None:
                    return None
                pos = nxt
        return start

    # -- public --------------------------------------------------------------------------
    def type_at(self, *path: str) -> str | None:
        """``"list"``, ``"object"``, ``"scalar"`` of the value at ``path``, or None if absent."""
        start = self._find(path)
        if start is None:
            return None
        return _kind(self._buf[start : start + 1])

    def value(self, *path: str) -> Element:
        """The whole value at ``path`` as one element (for small values: a name, a scalar)."""
        start = self._find(path)
        if start is None:
            return Element(tuple(path), error="missing")
        end, depth = _value_end(self._buf, start)
        return _parse_span(self._buf, start, end, depth, tuple(path), self._fix)

    def fields(self) -> dict[str, Element]:
        """The root object's scalars and small objects, parsed (empty for other roots).

        A structural break ends the scan quietly: the fields before it are returned, and the
        break is reported by whoever iterates the elements.
        """
        if self.root_type != "object":
            return {}
        out: dict[str, Element] = {}
        try:
            for key, start, end, depth in self._object_entries(self._root):
                kind = _kind(self._buf[start : start + 1])
                if kind == "scalar" or (kind == "object" and end - start < 1 << 16):
                    out[key] = _parse_span(self._buf, start, end, depth, (key,), self._fix)
        except JsonShapeError:
            pass
        return out

    def elements(self, *path: str) -> Iterator[Element]:
        """Each element of the list at ``path`` (``()`` is the root), parsed on its own.

        Yields nothing when the path is absent or not a list (check with :meth:`type_at`).
        """
        at = self._find(path)
        if at is None or self._buf[at : at + 1] != b"[":
            return
        for index, (start, end, depth) in enumerate(self._array_items(at)):
            yield _parse_span(self._buf, start, end, depth, (*path, index), self._fix)

    def keys(self, *path: str) -> list[str]:
        """The keys of the object at ``path`` in file order (nothing parsed); [] when not an object."""
        at = self._find(path)
        if at is None or self._buf[at : at + 1] != b"{":
            return []
        return [key for key, _start, _end, _depth in self._object_entries(at)]

    def entries(self, *path: str) -> Iterator[Element]:
        """Each value of the object at ``path``, parsed on its own, with its key last in ``path``.

        Yields nothing when the path is absent or not an object (check with :meth:`type_at`).
        """
        at = self._find(path)
        if at is None or self._buf[at : at + 1] != b"{":
            return
        for key, start, end, depth in self._object_entries(at):
            yield _parse_span(self._buf, start, end, depth, (*path, key), self._fix)
