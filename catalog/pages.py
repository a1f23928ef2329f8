"""Reading one solution file: split the frontmatter, load the YAML, remember line numbers.

Why not just ``frontmatter.load``: it strips the text (shifting line numbers), silently treats a
page with an unclosed frontmatter as having none, and raises YAML tracebacks. Authors need
"file:line: what to fix", so the split is done line by line here and python-frontmatter's YAML
handler only loads the block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from .problems import Kind, Problem, Severity

__all__ = ["RawPage", "read_page"]

_DELIM = re.compile(r"^-{3,}\s*$")
_MD_HEADING = re.compile(r"^#{1,6}\s+\S")
_HANDLER = frontmatter.YAMLHandler()


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


def _key_lines(block: str, first_line: int) -> dict[str, int]:
    try:
        node = yaml.compose(block, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                lines[str(key_node.value)] = first_line + key_node.start_mark.line
    return lines


def _yaml_message(exc: yaml.YAMLError) -> tuple[int | None, str]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context else problem
    return (mark.line if mark is not None else None), text


_YAMLISH = re.compile(r"""^\s*($|#|-|[\w"' -]+:)""")


def _markdown_inside(lines: list[str], end: int | None) -> int | None:
    """Index of a Markdown heading that shows the frontmatter was never closed, if any.

    A ``# ...`` line is a YAML comment too, so it only counts when the frontmatter has no
    closing delimiter or prose (a line that is not YAML-ish) follows it before the delimiter.
    """
    stop = end if end is not None else len(lines)
    for i in range(1, stop):
        if _MD_HEADING.match(lines[i]):
            if end is None or any(not _YAMLISH.match(line) for line in lines[i + 1 : stop]):
                return i
    return None


def read_page(path: Path, shown: str | None = None) -> RawPage:
    """Read ``path``; never raises for bad content (problems are recorded on the page)."""
    page = RawPage(path=path, shown=shown or str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        page.error(0, Kind.MALFORMED_YAML, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return page
    lines = text.splitlines()
    if not text.strip():
        page.error(0, Kind.NO_FRONTMATTER, "empty file: start it with a '---' frontmatter block")
        return page
    if not lines or not _DELIM.match(lines[0]):
        page.error(1, Kind.NO_FRONTMATTER, "no frontmatter: the first line must be '---'")
        page.body = text
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
    try:
        meta = _HANDLER.load(block)
    except yaml.YAMLError as exc:
        offset, message = _yaml_message(exc)
        line = 2 + offset if offset is not None else 1
        page.error(line, Kind.MALFORMED_YAML, f"frontmatter is not valid YAML: {message}")
        return page
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        page.error(2, Kind.MALFORMED_YAML, "frontmatter must be 'key: value' lines (a YAML mapping)")
        return page
    page.meta = {str(k): v for k, v in meta.items()}
    page.key_lines = _key_lines(block, 2)
    return page
