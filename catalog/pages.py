"""Reading one solution file: bounded read, split the frontmatter, load the YAML, keep line numbers.

Why not just ``frontmatter.load``: it strips the text (shifting line numbers), silently treats a
page with an unclosed frontmatter as having none, and raises YAML tracebacks. Authors need
"file:line: what to fix", so the split is done line by line here and :mod:`catalog.page_yaml`
loads only the block.

Pages come from anyone, so reading is bounded before any parsing: the frontmatter must close
within :data:`FRONTMATTER_MAX_BYTES` and the whole page must fit in :data:`PAGE_MAX_BYTES`;
reading stops at the cap (a 10 MB block is never read, let alone parsed). A UTF-8 byte order
mark and CRLF (or CR) line endings are accepted; lines are split where YAML itself breaks them,
so YAML's line numbers and the page's agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .page_yaml import FrontmatterError, load_frontmatter
from .problems import Kind, Problem, Severity

__all__ = ["FRONTMATTER_MAX_BYTES", "PAGE_MAX_BYTES", "RawPage", "read_page"]

#: Largest frontmatter accepted, from the first byte through the closing ``---`` line.
FRONTMATTER_MAX_BYTES = 64 * 1024
#: Largest page accepted (frontmatter and Markdown body together).
PAGE_MAX_BYTES = 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_DELIM = re.compile(r"^-{3,}\s*$", re.ASCII)
_DELIM_BYTES = re.compile(rb"^-{3,}\s*$")
_MD_HEADING = re.compile(r"^#{1,6}\s+\S")
#: Line breaks as YAML counts them (\r\n, \r, \n, NEL, LS, PS).
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


@dataclass
class RawPage:
    """A page as written: metadata (None when unusable), body and where things are.

    Attributes:
        path: the file.
        shown: the path as shown in messages.
        meta: the frontmatter mapping, or None if it could not be read.
        key_lines: 1-based line of each top-level frontmatter key.
        body: the Markdown after the frontmatter.
        body_line: 1-based file line where ``body`` starts.
        problems: what went wrong while reading.
    """

    path: Path
    shown: str
    meta: dict[str, Any] | None = None
    key_lines: dict[str, int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, key: str) -> int:
        """Line of ``key`` in the frontmatter, or of the opening ``---`` when absent."""
        return self.key_lines.get(key, 1)

    def error(self, line: int, kind: Kind, message: str) -> None:
        self.problems.append(Problem(self.shown, line, Severity.ERROR, kind, message))

    def warn(self, line: int, kind: Kind, message: str) -> None:
        self.problems.append(Problem(self.shown, line, Severity.WARNING, kind, message))


# Possessive quantifiers: a 60,000-space line must not backtrack quadratically.
_YAMLISH = re.compile(r"""^\s*+(?:$|#|-|[\w"' -]*+:)""")


def _markdown_inside(lines: list[str], end: int | None) -> int | None:
    """Index of a Markdown heading that shows the frontmatter was never closed, if any.

    A ``# ...`` line is a YAML comment too, so it only counts when the frontmatter has no
    closing delimiter or prose (a line that is not YAML-ish) follows it before the delimiter.
    """
    stop = end if end is not None else len(lines)
    last_prose = max((i for i in range(1, stop) if not _YAMLISH.match(lines[i])), default=0)
    for i in range(1, stop):
        if _MD_HEADING.match(lines[i]) and (end is None or last_prose > i):
            return i
    return None


class _TooLarge(Exception):
    """The page or its frontmatter is over a cap; ``kind`` says which."""

    def __init__(self, kind: Kind) -> None:
        super().__init__(kind)
        self.kind = kind


def _read_bounded(path: Path) -> bytes:
    """The page's bytes, reading line by line through the frontmatter and never past a cap.

    Raises:
        _TooLarge: the frontmatter does not close within FRONTMATTER_MAX_BYTES, or the page is
            over PAGE_MAX_BYTES (reading stopped there).
        OSError: the file cannot be read.
    """
    with path.open("rb") as stream:
        first = stream.readline(FRONTMATTER_MAX_BYTES + 1)
        parts = [first]
        used = len(first)
        if _DELIM_BYTES.match(first.removeprefix(_BOM)):
            while used <= FRONTMATTER_MAX_BYTES:
                line = stream.readline(FRONTMATTER_MAX_BYTES + 1 - used)
                if not line:
                    break
                parts.append(line)
                used += len(line)
                if _DELIM_BYTES.match(line):
                    break
            if used > FRONTMATTER_MAX_BYTES:
                raise _TooLarge(Kind.FRONTMATTER_TOO_LARGE)
        rest = stream.read(PAGE_MAX_BYTES + 1 - used)
        if used + len(rest) > PAGE_MAX_BYTES:
            raise _TooLarge(Kind.PAGE_TOO_LARGE)
        parts.append(rest)
    return b"".join(parts)


def _decode(page: RawPage, data: bytes) -> str | None:
    try:
        return data.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start + (len(_BOM) if data.startswith(_BOM) else 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        page.error(line, Kind.NOT_TEXT, f"not UTF-8 text ({exc.reason} at column {column}): save the page as UTF-8")
        return None


def _split_lines(text: str) -> list[str]:
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_page(path: Path, shown: str | None = None) -> RawPage:
    """Read ``path``; never raises for bad content (problems are recorded on the page).

    Unreadable files (permissions, a vanished file) are recorded as problems too.
    """
    page = RawPage(path=path, shown=shown or str(path))
    try:
        data = _read_bounded(path)
    except OSError as exc:
        page.error(0, Kind.NOT_TEXT, f"cannot read the page: {exc.strerror or exc}")
        return page
    except _TooLarge as exc:
        if exc.kind is Kind.FRONTMATTER_TOO_LARGE:
            page.error(1, exc.kind, f"frontmatter does not close within {FRONTMATTER_MAX_BYTES // 1024} KiB: "
                       "keep it to the page's fields and end it with a '---' line")
        else:
            page.error(0, exc.kind, f"page is larger than {PAGE_MAX_BYTES // (1024 * 1024)} MiB: "
                       "shorten it or split it in two")
        return page
    text = _decode(page, data)
    if text is None:
        return page
    lines = _split_lines(text)
    if not text.strip():
        page.error(0, Kind.NO_FRONTMATTER, "empty file: start it with a '---' frontmatter block")
        return page
    if not lines or not _DELIM.match(lines[0]):
        page.error(1, Kind.NO_FRONTMATTER, "no frontmatter: the first line must be '---'")
        page.body = "\n".join(lines)
        return page
    end = next((i for i in range(1, len(lines)) if _DELIM.match(lines[i])), None)
    heading = _markdown_inside(lines, end)
    if end is None or heading is not None:
        at = (heading if heading is not None else len(lines) - 1) + 1
        page.error(
            at,
            Kind.UNCLOSED_FRONTMATTER,
            "frontmatter is not closed: add a line '---' after the last field"
            + (f" (line {at} is Markdown, not YAML)" if heading is not None else ""),
        )
        end = heading if heading is not None else len(lines)
        page.body_line = end + 1
        page.body = "\n".join(lines[end:])
    else:
        page.body_line = end + 2
        page.body = "\n".join(lines[end + 1 :])
    block = "\n".join(lines[1:end])
    if len(block.encode("utf-8")) > FRONTMATTER_MAX_BYTES:  # line breaks the byte scan did not see (CR only)
        page.error(1, Kind.FRONTMATTER_TOO_LARGE, f"frontmatter is larger than {FRONTMATTER_MAX_BYTES // 1024} KiB: "
                   "keep it to the page's fields")
        return page
    _load_meta(page, block)
    return page


def _load_meta(page: RawPage, block: str) -> None:
    """Load the frontmatter ``block`` (file line 2 onwards) into ``page.meta`` and ``key_lines``."""
    try:
        loaded = load_frontmatter(block)
    except FrontmatterError as exc:
        page.error(2 + exc.line, exc.kind, exc.message)
        return
    for key, first, again in loaded.duplicates:
        page.error(2 + again, Kind.DUPLICATE_KEY,
                   f"duplicate key '{key[:40]}' at lines {2 + first} and {2 + again}: keep one")
    if loaded.duplicates:
        return
    meta = {} if loaded.meta is None else loaded.meta
    if not isinstance(meta, dict):
        page.error(2, Kind.MALFORMED_YAML, "frontmatter must be 'key: value' lines (a YAML mapping)")
        return
    page.meta = {str(k): v for k, v in meta.items()}
    page.key_lines = {key: 2 + line for key, line in loaded.key_lines.items()}
