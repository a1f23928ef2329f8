"""The YAML loader for solution-page frontmatter: bounded, strict about keys, and line-aware.

Why not ``yaml.safe_load``: "safe" there means "constructs no Python objects", not "bounded".
A page is written by anyone who opens a pull request, and a plain SafeLoader accepts what an
author never means and a reader cannot afford:

* **Aliases** (``*name``). Nodes are shared, so composing is cheap, but everything after it
  (``str()`` of a value, the checks, the index) walks the expanded tree: a billion-laughs page
  took minutes and gigabytes. No page in ``content/`` uses anchors or aliases and frontmatter is a
  handful of flat fields, so any alias is refused at its line (anchors alone are inert and allowed).
  Refusing outright, instead of allowing "a few", means there is no expansion factor to bound.
* **Deep nesting** (``[[[[...]]]]``): the composer recurses once per level; past
  :data:`MAX_DEPTH` levels the page is refused (real frontmatter is one or two levels deep).
* **Duplicate keys**: YAML keeps the last one silently. Every duplicate is reported, naming the
  line of both occurrences.
* **Huge numbers**: ``int()`` of a 5,001-digit value raises ``ValueError`` (Python's conversion
  limit) and a base-60 ``1:59:59:...`` grows without end; numbers longer than
  :data:`MAX_NUMBER_CHARS` characters are refused.
* **Control characters and lone surrogates**, raw or as escapes (``"\\e[31m"``, ``"\\ud800"``):
  an ANSI escape in a title would reach terminals, a surrogate can never be written as UTF-8.

Everything refused raises :class:`FrontmatterError` with a 0-based line in the block, a
:class:`~catalog.problems.Kind` and a one-line message; no other exception leaves :func:`load_frontmatter`.
The fast libyaml parser is used for events when installed; composing happens in Python so the
checks above see every event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode

from .problems import Kind

__all__ = ["MAX_DEPTH", "MAX_NUMBER_CHARS", "Frontmatter", "FrontmatterError", "load_frontmatter", "bad_character"]

#: Deepest nesting of lists/mappings accepted (a mapping of lists of mappings is 3).
MAX_DEPTH = 16
#: Longest integer or float literal accepted, in characters (quote longer ones to keep them as text).
MAX_NUMBER_CHARS = 100

#: Characters YAML refuses in a stream (yaml.reader.Reader.NON_PRINTABLE), plus lone surrogates.
_NOT_TEXT = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class FrontmatterError(Exception):
    """The frontmatter cannot be used.

    Attributes:
        line: 0-based line within the frontmatter block.
        kind: what is wrong (a stable code).
        message: one line saying what to fix.
    """

    def __init__(self, line: int, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.kind = kind
        self.message = message


@dataclass
class Frontmatter:
    """A loaded block.

    Attributes:
        meta: the constructed value (a mapping for any usable page; None for an empty block).
        key_lines: 0-based line of each top-level key.
        duplicates: (key, first line, repeated line), 0-based, for every repeated key at any depth.
    """

    meta: Any
    key_lines: dict[str, int] = field(default_factory=dict)
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)


class _Refused(yaml.MarkedYAMLError):
    """Raised inside the loader; carries the kind so the caller does not parse messages."""

    def __init__(self, kind: Kind, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.kind = kind


class _BoundedComposer(Composer):
    """Composer that refuses aliases and deep nesting and records duplicate keys."""

    _depth = 0
    duplicates: list[tuple[str, int, int]]

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _Refused(
                Kind.YAML_ALIAS,
                f"YAML alias '*{_clip(str(event.anchor))}' is not allowed in frontmatter: write the value out",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    Kind.YAML_TOO_DEEP, f"values nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_scalar_node(self, anchor: Any) -> Any:
        node = super().compose_scalar_node(anchor)
        found = _NOT_TEXT.search(node.value)
        if found:  # only an escape ("\\e", "\\x07", "\\ud800") gets here: raw ones are refused before parsing
            code = ord(found.group())
            what = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
            raise _Refused(
                Kind.NOT_TEXT, f"text holds {what} (U+{code:04X}, written as an escape): remove it", node.start_mark
            )
        return node

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode):
                continue
            ident = (key.tag, key.value)
            if ident in seen:
                self.duplicates.append((key.value, seen[ident], key.start_mark.line))
            else:
                seen[ident] = key.start_mark.line
        return node


def _loader_class(base: type) -> type:
    """A loader on ``base`` (CSafeLoader or SafeLoader) with the bounded composer and number limits."""

    class PageLoader(_BoundedComposer, base):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            base.__init__(self, stream)
            self.anchors = {}
            self.duplicates = []

        def construct_bounded_number(self, node: Any) -> Any:
            if len(node.value) > MAX_NUMBER_CHARS:
                raise _Refused(
                    Kind.MALFORMED_YAML,
                    f"number '{_clip(node.value)}' is {len(node.value)} characters long "
                    f"(at most {MAX_NUMBER_CHARS}): quote it if it is text",
                    node.start_mark,
                )
            if node.tag.endswith(":int"):
                return self.construct_yaml_int(node)
            return self.construct_yaml_float(node)

    PageLoader.add_constructor("tag:yaml.org,2002:int", PageLoader.construct_bounded_number)
    PageLoader.add_constructor("tag:yaml.org,2002:float", PageLoader.construct_bounded_number)
    return PageLoader


_PYTHON_LOADER = _loader_class(yaml.SafeLoader)
#: libyaml's parser (C) for the events when PyYAML was built with it; composing stays in Python.
_LOADER = _loader_class(yaml.CSafeLoader) if hasattr(yaml, "CSafeLoader") else _PYTHON_LOADER


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def bad_character(text: str) -> tuple[int, int, str] | None:
    """First character YAML refuses in ``text``: (0-based line, 1-based column, description), or None.

    Checked before parsing so the error names the exact line (libyaml reports only an offset).
    """
    found = _NOT_TEXT.search(text)
    if found is None:
        return None
    line = text.count("\n", 0, found.start())
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return line, column, f"U+{ord(found.group()):04X}"


def _mark_line(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line if mark is not None else 0


def _message(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable"])[0]
    context = getattr(exc, "context", None)
    return f"{context}, {problem}" if context else str(problem)


def _translate(exc: yaml.YAMLError) -> FrontmatterError:
    line = _mark_line(exc)
    if isinstance(exc, _Refused):
        return FrontmatterError(line, exc.kind, exc.problem or "refused")
    message = _message(exc)
    if isinstance(exc, ConstructorError):
        return FrontmatterError(line, Kind.MALFORMED_YAML, f"frontmatter has a value YAML cannot build: {message}")
    if "maximum nesting depth" in message:  # libyaml's own limit, reached while it scans ahead
        return FrontmatterError(line, Kind.YAML_TOO_DEEP, f"values nested more than {MAX_DEPTH} levels deep")
    return FrontmatterError(line, Kind.MALFORMED_YAML, f"frontmatter is not valid YAML: {message}")


def load_frontmatter(block: str, *, pure_python: bool = False) -> Frontmatter:
    """Load one frontmatter block (the text between the ``---`` lines).

    Args:
        block: the frontmatter text.
        pure_python: parse with PyYAML's Python parser even when libyaml is available (the tests
            run both, since the limits must hold whichever one a user's PyYAML has).

    Raises:
        FrontmatterError: for anything unusable (see the module docstring), never another exception.
    """
    bad = bad_character(block)
    if bad is not None:
        line, column, what = bad
        raise FrontmatterError(line, Kind.NOT_TEXT, f"control character {what} at column {column}: remove it")
    loader = (_PYTHON_LOADER if pure_python else _LOADER)(block)
    try:
        node = loader.get_single_node()
        meta = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise _translate(exc) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # a constructor corner nobody listed
        raise FrontmatterError(0, Kind.MALFORMED_YAML, f"frontmatter could not be read: {type(exc).__name__}") from None
    finally:
        loader.dispose()
    key_lines: dict[str, int] = {}
    if isinstance(node, MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode):
                key_lines.setdefault(str(key_node.value), key_node.start_mark.line)
    return Frontmatter(meta, key_lines, loader.duplicates)
