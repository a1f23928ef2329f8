"""Link checks on a page body: placeholder, empty and misleading links.

Why parse with markdown-it instead of a regex: it finds exactly the links the site will render
(reference links, links inside lists and emphasis) and ignores code spans. Each link is pinned
to the file line where its target is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

from .problems import Kind, Problem, Severity

__all__ = ["Link", "iter_links", "check_links", "check_placeholder_text"]

_MD = MarkdownIt("commonmark")
_PLACEHOLDER = re.compile(
    r"(?i:put\s+(the\s+)?link|link\s+(goes\s+)?here|insert\s+(a\s+)?link|placeholder)"
    r"|\bXXX\b|\bTODO\b|\bTBD\b|\bFIXME\b"
)
_PLACEHOLDER_HREFS = {"#", "http://", "https://", "url", "link", "todo", "tbd", "xxx"}
_PLACEHOLDER_HOSTS = {"example.com", "www.example.com", "example.org", "example.net"}
_DOMAIN_LIKE = re.compile(r"^(www\.)?[\w-]+(\.[\w-]+)*\.[a-z]{2,}(/\S*)?$", re.IGNORECASE)
_URL_LIKE = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)
_TEMPLATE_MARK = re.compile(r"\bXXX\b")


@dataclass(frozen=True)
class Link:
    text: str
    href: str
    line: int  # 1-based line within the body


def _line_of(lines: list[str], start: int, end: int, href: str, text: str) -> int:
    for needle in (f"]({href}", href, text):
        if not needle:
            continue
        for i in range(start, min(end, len(lines))):
            if needle in lines[i]:
                return i + 1
    return start + 1


def iter_links(body: str) -> Iterator[Link]:
    """Every Markdown link in ``body`` (autolinks excluded: their text is their target)."""
    lines = body.splitlines()
    for token in _MD.parse(body):
        if token.type != "inline" or not token.children:
            continue
        start, end = token.map or (0, len(lines))
        children = token.children
        i = 0
        while i < len(children):
            child = children[i]
            if child.type == "link_open" and child.markup != "autolink":
                href = str(child.attrGet("href") or "")
                depth, j, parts = 1, i + 1, []
                while j < len(children) and depth:
                    if children[j].type == "link_open":
                        depth += 1
                    elif children[j].type == "link_close":
                        depth -= 1
                    elif children[j].type in ("text", "code_inline"):
                        parts.append(children[j].content)
                    j += 1
                text = "".join(parts).strip()
                yield Link(text, href, _line_of(lines, start, end, href, text))
                i = j
            else:
                i += 1


def _url_key(url: str) -> str:
    """Comparable form: no scheme, lower-case host, no leading www., no trailing slash."""
    candidate = url.strip()
    if not re.match(r"^[a-z][a-z0-9+.-]*://", candidate, re.IGNORECASE):
        candidate = "https://" + candidate
    parts = urlsplit(candidate)
    host = parts.netloc.lower().removeprefix("www.")
    rest = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{rest}{query}"


def check_links(body: str, *, shown: str, body_line: int) -> list[Problem]:
    """Problems with the links of one page body; lines are file lines."""
    problems = []

    def add(severity: Severity, kind: Kind, link: Link, message: str) -> None:
        problems.append(Problem(shown, body_line + link.line - 1, severity, kind, message))

    for link in iter_links(body):
        href = link.href.strip()
        label = f"[{link.text}]({link.href})"
        host = urlsplit(href).netloc.lower() if "://" in href else ""
        if not href:
            add(Severity.ERROR, Kind.EMPTY_LINK, link, f"link {label} has no target")
        elif _PLACEHOLDER.search(link.text) or href.lower() in _PLACEHOLDER_HREFS or host in _PLACEHOLDER_HOSTS:
            add(Severity.ERROR, Kind.PLACEHOLDER_LINK, link, f"placeholder link {label}: put the real link in")
            continue
        if not link.text:
            add(Severity.ERROR, Kind.EMPTY_LINK, link, f"link to '{href}' has no text: readers (and screen readers) see nothing")
        if href and _URL_LIKE.match(link.text) and _url_key(link.text) != _url_key(href):
            add(
                Severity.ERROR, Kind.MISLEADING_LINK, link,
                f"link text is the URL '{link.text}' but it goes to '{href}': make them match",
            )
        if (
            href
            and "://" not in href
            and not href.startswith(("mailto:", "#", "/", "."))
            and not href.lower().endswith((".md", ".html", ".htm"))
            and _DOMAIN_LIKE.match(href)
        ):
            add(
                Severity.WARNING, Kind.SCHEMELESS_LINK, link,
                f"link target '{href}' has no https://, so browsers treat it as a relative path",
            )
    return problems


def check_placeholder_text(body: str, *, shown: str, body_line: int) -> list[Problem]:
    """Warnings for template text ("XXX ...") left in the body, outside code."""
    problems = []
    in_code = False
    for i, line in enumerate(body.splitlines()):
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        if not in_code and _TEMPLATE_MARK.search(line):
            problems.append(
                Problem(shown, body_line + i, Severity.WARNING, Kind.PLACEHOLDER_TEXT,
                        f"template placeholder left in: '{line.strip()[:60]}'")
            )
    return problems
