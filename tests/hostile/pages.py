"""Hostile and malformed catalog solution pages, written at test time.

Each generator writes one page into ``folder`` and returns a :class:`HostilePage` saying which
problem kind the catalog must report and on which line, so a test can check the error names the
file and the line (never a traceback, never an expansion, never a hang). Nothing large is committed:
the 10 MB frontmatter and the alias bomb exist only inside a test's temporary folder.

Typical use::

    for page in write_all(tmp_path):
        problems = load_catalog(page.path, services).problems
        assert any(p.kind == page.kind and p.line == page.line for p in problems)
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ANSI_FILE_NAME", "GENERATORS", "HostilePage", "MARKUP_TITLE", "VALID_FRONTMATTER", "write_all"]

#: A frontmatter every catalog (including tests/catalog_fixtures/services.yaml) accepts.
VALID_FRONTMATTER = (
    "title: Facebook photos to a folder\n"
    "datatype: Photos\n"
    "sources: Facebook\n"
    "destinations: Local files\n"
)
_BODY = "\nMove photos out of a Facebook export into a plain folder.\n"


@dataclass(frozen=True)
class HostilePage:
    """A generated page and what the catalog must say about it.

    Attributes:
        name: short name of the case (also the file stem).
        path: the page.
        kind: the ``catalog.Kind`` value expected among the errors (None: the page must load cleanly).
        line: the 1-based line that error must name (0: the whole file).
        size: bytes written.
    """

    name: str
    path: Path
    kind: str | None
    line: int
    size: int


def _write(folder: Path, name: str, data: bytes, kind: str | None, line: int, *, file_name: str = "") -> HostilePage:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (file_name or f"{name}.md")
    path.write_bytes(data)
    return HostilePage(name, path, kind, line, len(data))


def alias_bomb(folder: Path, levels: int = 9, width: int = 10) -> HostilePage:
    """Billion laughs: ``width ** levels`` strings if expanded; the first alias is on line 7."""
    rows = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * width)
        rows.append(f"l{level}: &l{level} [{refs}]")
    text = "---\n" + VALID_FRONTMATTER + "\n".join(rows) + f"\nsummary: *l{levels}\n---\n" + _BODY
    # line 1 '---', 2-5 valid fields, 6 l0, 7 l1 (the first alias)
    return _write(folder, "alias-bomb", text.encode(), "yaml-alias", 7)


def huge_frontmatter(folder: Path, size: int = 10 * 1024 * 1024) -> HostilePage:
    """A closed frontmatter of ``size`` bytes: keys and ``# comment`` lines (YAML-valid throughout)."""
    head = ("---\n" + VALID_FRONTMATTER).encode()
    chunk = b"".join(b"# note %d about this page\nkey%d: some value that repeats\n" % (i, i) for i in range(2000))
    parts = [head]
    written = len(head)
    while written < size:
        parts.append(chunk)
        written += len(chunk)
    parts.append(b"---\n" + _BODY.encode())
    return _write(folder, "huge-frontmatter", b"".join(parts), "frontmatter-too-large", 1)


def huge_single_line(folder: Path, size: int = 10 * 1024 * 1024) -> HostilePage:
    """One 10 MB line after the opening ``---``, no newline anywhere after it."""
    data = b"---\ntitle: " + b"x" * size
    return _write(folder, "huge-single-line", data, "frontmatter-too-large", 1)


def huge_body(folder: Path, size: int = 10 * 1024 * 1024) -> HostilePage:
    """A valid frontmatter followed by a 10 MB body."""
    data = ("---\n" + VALID_FRONTMATTER + "---\n").encode() + b"word " * (size // 5)
    return _write(folder, "huge-body", data, "page-too-large", 0)


def duplicate_keys(folder: Path) -> HostilePage:
    """``title`` on lines 2 and 5; the error is on line 5 and names line 2."""
    text = "---\ntitle: First\ndatatype: Photos\nsources: Facebook\ntitle: Second\ndestinations: Local files\n---\n" + _BODY
    return _write(folder, "duplicate-keys", text.encode(), "duplicate-key", 5)


def bom_crlf(folder: Path) -> HostilePage:
    """A valid page saved with a UTF-8 byte order mark and Windows line endings: must load cleanly."""
    text = ("---\n" + VALID_FRONTMATTER + "---\n" + _BODY).replace("\n", "\r\n")
    return _write(folder, "bom-crlf", b"\xef\xbb\xbf" + text.encode(), None, 0)


def deep_nesting(folder: Path, depth: int = 30_000) -> HostilePage:
    """``sources`` nested ``depth`` lists deep (60 KB, under the size cap)."""
    text = "---\ntitle: Deep\ndatatype: Photos\nsources: " + "[" * depth + "]" * depth + "\ndestinations: Local files\n---\n"
    return _write(folder, "deep-nesting", (text + _BODY).encode(), "yaml-too-deep", 4)


def binary_junk(folder: Path, size: int = 48 * 1024, seed: int = 16) -> HostilePage:
    """Random bytes (not UTF-8 from their first byte) after a valid opening line."""
    junk = b"\xff" + random.Random(seed).randbytes(size)
    return _write(folder, "binary-junk", b"---\n" + junk, "not-text", 2)


def binary_file(folder: Path, size: int = 512 * 1024, seed: int = 61) -> HostilePage:
    """A binary file (an image renamed ``.md``, say): random bytes, no frontmatter at all."""
    data = b"\x89PNG\r\n\x1a\n" + random.Random(seed).randbytes(size)
    return _write(folder, "binary-file", data, "not-text", 1)


def deep_block_nesting(folder: Path, depth: int = 20_000) -> HostilePage:
    """``sources`` as a block sequence nested ``depth`` deep on one line (``- - - - x``)."""
    text = "---\ntitle: Deep\ndatatype: Photos\nsources:\n  " + "- " * depth + "x\ndestinations: Local files\n---\n"
    return _write(folder, "deep-block-nesting", (text + _BODY).encode(), "yaml-too-deep", 5)


def escaped_control(folder: Path) -> HostilePage:
    """An ANSI colour escape written as a YAML escape (``\\e[31m``) in the title, line 2."""
    text = '---\ntitle: "\\e[31mred\\e[0m photos"\ndatatype: Photos\nsources: Facebook\ndestinations: Local files\n---\n'
    return _write(folder, "escaped-control", (text + _BODY).encode(), "not-text", 2)


def many_keys(folder: Path, count: int = 3000) -> HostilePage:
    """Thousands of unknown fields (each would be spell-checked against the known ones)."""
    keys = "".join(f"field{i}: value\n" for i in range(count))
    text = "---\n" + VALID_FRONTMATTER + keys + "---\n"
    # the error names the first field past the 50 allowed: the 51st key, on line 2 + 50
    return _write(folder, "many-keys", (text + _BODY).encode(), "too-many-fields", 52)


def long_names(folder: Path, length: int = 30_000) -> HostilePage:
    """A 30,000-character service name and datatype (spelling suggestions are quadratic), lines 3-4."""
    text = f"---\ntitle: Long\ndatatype: {'P' * length}\nsources: {'F' * length}\ndestinations: Local files\n---\n"
    return _write(folder, "long-names", (text + _BODY).encode(), "unknown-service", 4)


def control_characters(folder: Path) -> HostilePage:
    """Valid UTF-8 with NUL and other control bytes inside the frontmatter (line 3)."""
    text = "---\ntitle: Control\ndatatype: Pho\x00tos\x07\nsources: Facebook\ndestinations: Local files\n---\n" + _BODY
    return _write(folder, "control-characters", text.encode(), "not-text", 3)


def lone_surrogate_escape(folder: Path) -> HostilePage:
    """A YAML ``\\ud800`` escape: a lone surrogate that could never be written as UTF-8 later.

    libyaml refuses the escape itself (``malformed-yaml``); the pure-Python parser accepts it and
    the loader refuses the value (``not-text``): the test accepts either kind on that line.
    """
    text = '---\ntitle: "Photos \\ud800 here"\ndatatype: Photos\nsources: Facebook\ndestinations: Local files\n---\n'
    return _write(folder, "lone-surrogate-escape", (text + _BODY).encode(), "malformed-yaml", 2)


def lone_surrogate_bytes(folder: Path) -> HostilePage:
    """A surrogate encoded as UTF-8 bytes (ED A0 80), which no UTF-8 decoder accepts, on line 2."""
    data = b"---\ntitle: Photos \xed\xa0\x80 here\ndatatype: Photos\nsources: Facebook\ndestinations: Local files\n---\n"
    return _write(folder, "lone-surrogate-bytes", data + _BODY.encode(), "not-text", 2)


def huge_number(folder: Path, digits: int = 5001) -> HostilePage:
    """A 5,001-digit integer (past Python's int/str conversion limit) as the title, line 2."""
    text = f"---\ntitle: {'7' * digits}\ndatatype: Photos\nsources: Facebook\ndestinations: Local files\n---\n"
    return _write(folder, "huge-number", (text + _BODY).encode(), "malformed-yaml", 2)


def huge_sexagesimal(folder: Path, groups: int = 10_000) -> HostilePage:
    """A YAML 1.1 base-60 integer (``1:59:59:...``) that would grow to ~18,000 digits, line 2."""
    text = f"---\ntitle: 1{':59' * groups}\ndatatype: Photos\nsources: Facebook\ndestinations: Local files\n---\n"
    return _write(folder, "huge-sexagesimal", (text + _BODY).encode(), "malformed-yaml", 2)


def many_names(folder: Path, count: int = 4000) -> HostilePage:
    """``sources`` listing thousands of unknown services (each would be fuzzy-matched), line 4."""
    names = ", ".join(f"Service{i}" for i in range(count))
    text = f"---\ntitle: Many\ndatatype: Photos\nsources: {names}\ndestinations: Local files\n---\n"
    return _write(folder, "many-names", (text + _BODY).encode(), "too-many-names", 4)


def long_spaces_line(folder: Path, width: int = 60_000) -> HostilePage:
    """One frontmatter line of 60,000 spaces and a word (a regex backtracking trap), then a heading."""
    text = "---\ntitle: Spaces\n" + " " * width + "x\n# Heading\nprose follows here\n"
    return _write(folder, "long-spaces-line", text.encode(), "unclosed-frontmatter", 4)


#: A title that is Rich markup, HTML and a script break-out at once (all of it must show as text).
MARKUP_TITLE = (
    "[/]x [link=https://evil.example]click[/link] [bold red]loud</script><script>window.pwned=1</script>"
    '<img src=x onerror="window.pwned=2"><!--'
)


def markup_title(folder: Path) -> HostilePage:
    """A valid page whose title is :data:`MARKUP_TITLE`: accepted, and shown as text everywhere."""
    title = MARKUP_TITLE.replace("'", "''")
    text = f"---\ntitle: '{title}'\ndatatype: Photos\nsources: Facebook\ndestinations: Local files\n---\n"
    return _write(folder, "markup-title", (text + _BODY).encode(), None, 0)


#: A file name holding an ANSI colour, an OSC 8 hyperlink and Rich markup (no "/": it is a file name).
ANSI_FILE_NAME = "\x1b[31mred\x1b]8;;evil.example\x07[bold]link[link=evil.example]\x1b]8;;\x07.md"


def ansi_file_name(folder: Path) -> HostilePage:
    """A page named :data:`ANSI_FILE_NAME` with an unknown service on line 4 (so the name is printed)."""
    text = "---\ntitle: Ansi\ndatatype: Photos\nsources: Nowhere Service\ndestinations: Local files\n---\n" + _BODY
    return _write(folder, "ansi-file-name", text.encode(), "unknown-service", 4, file_name=ANSI_FILE_NAME)


def undecodable_file_name(folder: Path) -> HostilePage:
    """A valid page whose file name is not UTF-8 (byte 0xFF): loads, and its path prints and writes."""
    text = ("---\n" + VALID_FRONTMATTER + "---\n" + _BODY).encode()
    name = os.fsdecode(b"not-utf8-\xff.md")
    return _write(folder, "undecodable-file-name", text, None, 0, file_name=name)


#: Every generator, by case name.
GENERATORS: dict[str, Callable[[Path], HostilePage]] = {
    "alias-bomb": alias_bomb,
    "huge-frontmatter": huge_frontmatter,
    "huge-single-line": huge_single_line,
    "huge-body": huge_body,
    "duplicate-keys": duplicate_keys,
    "bom-crlf": bom_crlf,
    "deep-nesting": deep_nesting,
    "binary-junk": binary_junk,
    "binary-file": binary_file,
    "deep-block-nesting": deep_block_nesting,
    "escaped-control": escaped_control,
    "many-keys": many_keys,
    "control-characters": control_characters,
    "lone-surrogate-escape": lone_surrogate_escape,
    "lone-surrogate-bytes": lone_surrogate_bytes,
    "huge-number": huge_number,
    "huge-sexagesimal": huge_sexagesimal,
    "many-names": many_names,
    "long-names": long_names,
    "long-spaces-line": long_spaces_line,
    "markup-title": markup_title,
    "ansi-file-name": ansi_file_name,
    "undecodable-file-name": undecodable_file_name,
}


def write_all(folder: Path) -> list[HostilePage]:
    """Write every case into ``folder`` (one file each)."""
    return [generate(folder) for generate in GENERATORS.values()]
