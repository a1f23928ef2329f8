"""Markdown to HTML for solution bodies (markdown-it-py, raw HTML disabled).

Why these tweaks: a site page already has its own ``<h1>`` (the solution title), so body
headings move one level down to keep one h1 per page; links to sibling ``*.md`` pages become
links to their built pages; raw HTML in pages is escaped, never trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["make_renderer"]


def _shift_headings(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + 1, 6)
            token.tag = f"h{level}"


def make_renderer(md_link: Callable[[str], str | None]) -> Callable[[str], str]:
    """A body renderer; ``md_link(stem)`` maps a linked ``*.md`` page to a site URL (or None)."""
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")

    def rewrite_links(tokens: list[Token]) -> None:
        for token in tokens:
            for child in token.children or ():
                if child.type != "link_open":
                    continue
                href = str(child.attrGet("href") or "")
                parts = urlsplit(href)
                if parts.scheme or parts.netloc:
                    child.attrSet("rel", "noopener")
                    continue
                path = PurePosixPath(parts.path)
                if path.suffix == ".md":
                    target = md_link(path.stem)
                    if target:
                        child.attrSet("href", target + (f"#{parts.fragment}" if parts.fragment else ""))

    def render(body: str) -> str:
        tokens = md.parse(body)
        _shift_headings(tokens)
        rewrite_links(tokens)
        return md.renderer.render(tokens, md.options, {})

    return render
