"""``--include`` / ``--exclude`` globs for a folder source, in rclone's pattern language.

Patterns match the path of a file relative to the source root, with ``/`` between folders:

=============  ================================================================================
``*``          any run of characters except ``/``          (``*.jpg``)
``**``         any run of characters, ``/`` included        (``2020/**``)
``?``          one character except ``/``
``[a-z]``      one character of a class (``[!...]`` or ``[^...]`` negates)
``{a,b}``      either alternative                          (``*.{jpg,png}``)
``\\x``         the character ``x`` itself
=============  ================================================================================

A pattern starting with ``/`` is anchored at the root (``/top.txt`` is only the root's
``top.txt``); otherwise it matches at any depth, as a whole trailing part of the path
(``*.jpg`` matches ``a/b/c.jpg``; ``b/*.jpg`` matches ``a/b/c.jpg``). A pattern ending in ``/``
names a folder and everything under it (``tmp/`` is ``tmp/**``). Matching is case-sensitive.

The rule (simpler than rclone's, where mixing both flags depends on their order): a file is
transferred when it matches at least one ``--include`` (or none is given) and no ``--exclude``.
An excluded folder is not even listed. A folder item (``blobs``) follows the same rule with a
``/`` after its path, so ``--include '*.jpg'`` transfers the photos and creates their folders
at the destination as needed, without empty folders around them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["PathFilter", "compile_glob", "parse_patterns"]


def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regular expression of one rclone-style pattern (see the module doc).

    Raises:
        ConfigError: an unclosed ``[`` or ``{``, or an empty pattern.
    """
    if not pattern or not pattern.strip():
        raise ConfigError("folder: an empty --include/--exclude pattern")
    text = pattern
    anchored = text.startswith("/")
    if anchored:
        text = text[1:]
    if text.endswith("/"):
        text += "**"
    out, i, depth = [], 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(re.escape(text[i + 1]))
            i += 2
            continue
        if c == "*":
            if text.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = text.find("]", i + 2 if text[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end < 0:
                raise ConfigError(f"folder: pattern {pattern!r} has a '[' without its ']'")
            body = text[i + 1 : end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    if depth:
        raise ConfigError(f"folder: pattern {pattern!r} has a '{{' without its '}}'")
    prefix = "^" if anchored else "(?:^|/)"
    try:
        return re.compile(prefix + "".join(out) + "$")
    except re.error as exc:
        raise ConfigError(f"folder: pattern {pattern!r} is not valid: {exc}") from None


def parse_patterns(value: object, name: str) -> tuple[str, ...]:
    """An ``include``/``exclude`` option: a list of patterns, or one string (newlines separate)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: Iterable[object] = value.splitlines()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ConfigError(f"folder: option {name} must be a pattern or a list of patterns, got {value!r}")
    patterns = tuple(str(v) for v in items if str(v).strip())
    for pattern in patterns:
        compile_glob(pattern)
    return patterns


@dataclass(frozen=True)
class PathFilter:
    """Which relative paths of a source are transferred (see the module doc)."""

    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> PathFilter:
        return cls(tuple(compile_glob(p) for p in include), tuple(compile_glob(p) for p in exclude))

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude)

    def file(self, rel: str) -> bool:
        """Whether the file at ``rel`` is transferred."""
        if any(p.search(rel) for p in self.exclude):
            return False
        return not self.include or any(p.search(rel) for p in self.include)

    def folder(self, rel: str) -> bool:
        """Whether the folder item at ``rel`` is transferred (the same rules, with a ``/`` after it)."""
        return self.file(rel + "/")

    def walks(self, rel: str) -> bool:
        """Whether the folder at ``rel`` is listed at all (False only when an exclude names it)."""
        return not any(p.search(rel + "/") for p in self.exclude)
