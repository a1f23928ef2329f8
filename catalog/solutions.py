"""Turning a :class:`RawPage` into a :class:`Solution`, reporting what an author must fix.

Real pages mix YAML lists and comma-separated strings, spell services differently and leave
template text in; this module accepts all of that and says exactly what is off, with a line.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt

from .fuzzy import closest, normalize
from .links import check_links, check_placeholder_text
from .model import Solution, slugify
from .pages import RawPage
from .problems import Kind
from .services import Vocabulary

__all__ = [
    "REQUIRED_FIELDS", "OPTIONAL_FIELDS", "MAX_FIELDS", "MAX_NAMES", "to_solution", "split_names", "summarize",
]

REQUIRED_FIELDS = ("title", "datatype", "sources", "destinations")
#: Optional fields with a known meaning; any other field is kept as written in ``extra``.
OPTIONAL_FIELDS = ("summary", "description", "updated", "date", "author", "authors", "tags", "status")
#: Most fields a page may have: real pages have under ten; each unknown one is spell-checked.
MAX_FIELDS = 50
#: Most services one ``sources`` or ``destinations`` field may name (each is looked up and spell-checked).
MAX_NAMES = 50
_MD = MarkdownIt("commonmark")


def _clip(text: str, limit: int = 60) -> str:
    """``text`` cut for a message: a 30,000-character name must not become a 30,000-character line."""
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def split_names(value: Any) -> tuple[list[str], int, list[str]]:
    """Names from a list or a comma-separated string.

    Returns:
        (names, empty_entries, bad_items): ``empty_entries`` counts stray commas and blank
        items; ``bad_items`` describes items that are not text (nested lists or mappings).
    """
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    empty = 0
    bad: list[str] = []
    for item in items:
        if item is None:
            empty += 1
            continue
        if isinstance(item, (dict, list)):
            bad.append(repr(item)[:40])
            continue
        for part in str(item).split(","):
            if part.strip():
                names.append(part.strip())
            else:
                empty += 1
    return names, empty, bad


def summarize(body: str, limit: int = 220) -> str:
    """First paragraph of ``body`` as plain text, cut at a word boundary."""
    tokens = _MD.parse(body)
    for prev, token in zip(tokens, tokens[1:]):
        if prev.type == "paragraph_open" and token.type == "inline" and token.children is not None:
            text = "".join(
                " " if c.type in ("softbreak", "hardbreak") else c.content
                for c in token.children
                if c.type in ("text", "code_inline", "softbreak", "hardbreak")
            )
            text = " ".join(text.split())
            if text:
                return text if len(text) <= limit else text[: limit].rsplit(" ", 1)[0] + "…"
    return ""


def _check_keys(page: RawPage, meta: dict[str, Any]) -> set[str]:
    """Report missing required fields (with rename hints); return the keys that are typos."""
    known = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
    typos: dict[str, str] = {}
    for key in meta:
        if key in known:
            continue
        near = closest(key, known, cutoff=0.75)
        if near:
            typos[key] = near
    for required in REQUIRED_FIELDS:
        if required in meta:
            continue
        found = [k for k, v in typos.items() if v == required]
        if found:
            page.error(
                page.line_of(found[0]), Kind.MISSING_FIELD,
                f"missing required field '{required}': rename '{found[0]}' to '{required}'",
            )
        else:
            page.error(page.body_line - 1 if page.body_line > 1 else 1, Kind.MISSING_FIELD,
                       f"missing required field '{required}'")
    for key, near in typos.items():
        if near in meta:
            page.warn(page.line_of(key), Kind.UNKNOWN_FIELD, f"unknown field '{_clip(key)}' (did you mean '{near}'?)")
    return set(typos)


def _text_field(page: RawPage, meta: dict[str, Any], key: str) -> str | None:
    if key not in meta:
        return None
    value = meta[key]
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], (list, dict)):
        value = value[0]
    if isinstance(value, (list, dict)):
        page.error(page.line_of(key), Kind.BAD_FIELD_TYPE, f"'{key}' must be one value, not a list or mapping")
        return None
    text = "" if value is None else " ".join(str(value).split())
    if not text:
        page.error(page.line_of(key), Kind.EMPTY_FIELD, f"'{key}' is empty")
        return None
    if "XXX" in text:
        page.error(page.line_of(key), Kind.PLACEHOLDER_TEXT, f"'{key}' still holds template text: {text[:60]!r}")
        return None
    return text


def _names_field(page: RawPage, meta: dict[str, Any], key: str, vocab: Vocabulary) -> list[str] | None:
    if key not in meta:
        return None
    line = page.line_of(key)
    names, empty, bad = split_names(meta[key])
    if len(names) > MAX_NAMES:
        page.error(line, Kind.TOO_MANY_NAMES, f"'{key}' names {len(names)} services (at most {MAX_NAMES}): "
                   "split the page into solutions of their own")
        return None
    for item in bad:
        page.error(line, Kind.BAD_FIELD_TYPE, f"'{key}' has an entry that is not a name: {item}")
    if not names:
        page.error(line, Kind.EMPTY_FIELD, f"'{key}' is empty: name at least one service")
        return None
    if empty:
        page.warn(line, Kind.EMPTY_ENTRY, f"'{key}' has {empty} empty entr{'y' if empty == 1 else 'ies'} (a stray comma?)")
    resolved: list[str] = []
    for name in names:
        if "XXX" in name:
            page.error(line, Kind.PLACEHOLDER_TEXT, f"'{key}' still holds template text: {name[:60]!r}")
            continue
        service = vocab.service(name)
        if service is None:
            hint = vocab.suggest_service(name)
            tip = f" (did you mean '{hint}'?)" if hint else " (add it to services.yaml)"
            page.error(line, Kind.UNKNOWN_SERVICE, f"unknown service '{_clip(name)}' in '{key}'{tip}")
            resolved.append(name)
        else:
            if name not in (service.name, *service.aliases):
                page.warn(line, Kind.SERVICE_SPELLING, f"write '{service.name}' (as in services.yaml), not '{_clip(name)}'")
            if service.name not in resolved:
                resolved.append(service.name)
    return resolved


def _datatype_field(page: RawPage, meta: dict[str, Any], vocab: Vocabulary) -> str | None:
    text = _text_field(page, meta, "datatype")
    if text is None:
        return None
    line = page.line_of("datatype")
    datatype = vocab.datatype(text)
    if datatype is None:
        hint = vocab.suggest_datatype(text)
        known = ", ".join(d.name for d in vocab.datatypes)
        tip = f"did you mean '{hint}'?" if hint else f"known: {known}"
        page.error(line, Kind.UNKNOWN_DATATYPE, f"unknown datatype '{_clip(text)}' ({tip})")
        return None
    if text != datatype.name:
        page.warn(line, Kind.DATATYPE_SPELLING, f"write the datatype as '{datatype.name}', not '{_clip(text)}'")
    return datatype.name


def to_solution(page: RawPage, vocab: Vocabulary) -> Solution | None:
    """Validate ``page`` against ``vocab``; problems go to ``page.problems``.

    Returns None when the page cannot be shown at all (no usable frontmatter, or no title,
    datatype, sources or destinations); otherwise a solution, possibly with unknown services.
    """
    body_problems = check_links(page.body, shown=page.shown, body_line=page.body_line)
    body_problems += check_placeholder_text(page.body, shown=page.shown, body_line=page.body_line)
    page.problems.extend(body_problems)
    if page.meta is None:
        return None
    meta = page.meta
    if len(meta) > MAX_FIELDS:
        extra_key = list(meta)[MAX_FIELDS]
        page.error(page.line_of(extra_key), Kind.TOO_MANY_FIELDS,
                   f"the frontmatter has {len(meta)} fields (at most {MAX_FIELDS}): keep the page's own fields only")
        return None
    typos = _check_keys(page, meta)
    title = _text_field(page, meta, "title")
    datatype = _datatype_field(page, meta, vocab)
    sources = _names_field(page, meta, "sources", vocab)
    destinations = _names_field(page, meta, "destinations", vocab)
    if not page.body.strip():
        page.warn(page.body_line - 1, Kind.EMPTY_FIELD, "the page has no body: say what the solution does and does not do")
    if title is None or datatype is None or not sources or not destinations:
        return None
    extra = {k: v for k, v in meta.items() if k not in REQUIRED_FIELDS and k not in typos}
    summary = str(meta.get("summary") or meta.get("description") or "") or summarize(page.body)
    return Solution(
        slug=slugify(page.path.stem),
        path=page.shown,
        title=title,
        datatype=datatype,
        sources=tuple(sources),
        destinations=tuple(destinations),
        body=page.body,
        summary=" ".join(summary.split()),
        extra=extra,
    )


def duplicate_titles(pages: list[tuple[RawPage, Solution]]) -> None:
    """Flag every page whose title repeats an earlier page's (compared case-insensitively)."""
    first: dict[str, RawPage] = {}
    for page, solution in pages:
        key = normalize(solution.title)
        if key in first:
            other = first[key]
            page.error(
                page.line_of("title"), Kind.DUPLICATE_TITLE,
                f"title '{solution.title}' is also used by {other.shown}:{other.line_of('title')}",
            )
        else:
            first[key] = page
