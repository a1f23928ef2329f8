"""Small drivers that play the framework's part: page through an exporter, feed an importer.

They follow the contract of :mod:`connectors.base` exactly as ``flows/`` does (cursor saved as
JSON between pages, container destination ids handed to later pages through ``ctx.parents``),
so a connector that passes the kit through them behaves under the real framework too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass

from ..base import Cursor, Exporter, ImportContext, Importer, ItemOutcome, Page
from ..models import Item, Vertical, parents_first

__all__ = ["ExportRun", "drain", "import_pages", "import_page"]

#: A safety stop for exporters whose cursor never ends.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class ExportRun:
    """Every page of one vertical, with the JSON form of the cursor that led to each page.

    Attributes:
        pages: the pages in order.
        cursors: ``cursors[i]`` is the saved cursor (JSON) page ``i`` was asked with; ``None``
            for the first page.
    """

    pages: tuple[Page, ...]
    cursors: tuple[str | None, ...]

    @property
    def items(self) -> list[Item]:
        return [item for page in self.pages for item in page.items]


def drain(exporter: Exporter, vertical: Vertical, cursor_json: str | None = None) -> ExportRun:
    """List every page of ``vertical`` from ``cursor_json`` on, round-tripping cursors through JSON.

    Raises:
        AssertionError: the exporter returned the same cursor twice in a row or never ended.
    """
    pages: list[Page] = []
    cursors: list[str | None] = []
    saved = cursor_json
    for _ in range(MAX_PAGES):
        cursor: Cursor | None = exporter.cursor_model.model_validate_json(saved) if saved is not None else None
        page = exporter.list_page(vertical, cursor)
        pages.append(page)
        cursors.append(saved)
        if page.next is None:
            return ExportRun(tuple(pages), tuple(cursors))
        following = page.next.model_dump_json()
        assert following != saved, f"{type(exporter).__name__} returned cursor {following} again: it would loop"
        saved = following
    raise AssertionError(f"{type(exporter).__name__} produced more than {MAX_PAGES} pages of {vertical}")


def import_page(importer: Importer, items: Sequence[Item], ctx: ImportContext) -> list[ItemOutcome]:
    """Import one page as the framework does: items in :func:`~connectors.models.parents_first`
    order, container destinations recorded in ``ctx.parents`` afterwards."""
    outcomes = list(importer.import_page(parents_first(items), ctx))
    for outcome in outcomes:
        if outcome.destination_id is not None:
            ctx.parents.setdefault(outcome.item_id, outcome.destination_id)
    return outcomes


def import_pages(
    importer: Importer,
    pages: Iterable[Sequence[Item]],
    make_context: Callable[[MutableMapping[str, str]], ImportContext],
    parents: MutableMapping[str, str] | None = None,
) -> list[list[ItemOutcome]]:
    """Import several pages in order, carrying destination ids from page to page.

    Args:
        importer: the importer under test.
        pages: the pages.
        make_context: builds a fresh context for a page given the parents known so far.
        parents: destination ids known before the first page (a resumed job's ledger).
    """
    known: MutableMapping[str, str] = dict(parents or {})
    results = []
    for page in pages:
        ctx = make_context(known)
        results.append(import_page(importer, list(page), ctx))
        known.update(ctx.parents)
    return results
