"""The catalog index: plain JSON-able data for the browser, the search API and other tools.

Why one plain-dict index: the static site's home page filters in the browser from exactly this
data (embedded as a script, since ``file://`` pages cannot fetch JSON), and :mod:`catalog.search`
can be built from the same dict, so the Python API and the web page rank from the same facts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from .loader import Catalog
from .model import Service, Solution, slugify

__all__ = ["INDEX_VERSION", "build_index", "service_map", "index_json", "index_script"]

INDEX_VERSION = 1


def service_map(solutions: list[Solution]) -> dict[str, dict[str, list[str]]]:
    """datatype -> source -> sorted destinations, over every solution."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for solution in solutions:
        for source in solution.sources:
            found[solution.datatype][source].update(solution.destinations)
    return {
        datatype: {source: sorted(dests) for source, dests in sorted(by_source.items())}
        for datatype, by_source in sorted(found.items())
    }


def solution_url(solution: Solution) -> str:
    return f"solutions/{solution.slug}.html"


def service_url(name: str) -> str:
    return f"services/{slugify(name)}.html"


def datatype_url(name: str) -> str:
    return f"datatypes/{slugify(name)}.html"


def _service_entry(catalog: Catalog, name: str, service: Service | None) -> dict[str, Any]:
    vocab = catalog.vocabulary
    as_source = [s.slug for s in catalog.solutions if name in s.sources]
    as_destination = [s.slug for s in catalog.solutions if name in s.destinations]
    return {
        "name": name,
        "slug": slugify(name),
        "url": service_url(name),
        "known": service is not None,
        "aliases": list(service.aliases) if service else [],
        "homepage": service.homepage if service else None,
        "offers": list(service.offers) if service else [],
        "exported_by": [
            {"connector": c.name, "title": c.title, "verticals": sorted(c.exports)}
            for c in vocab.exporters(name)
        ],
        "imported_by": [
            {"connector": c.name, "title": c.title, "verticals": sorted(c.imports)}
            for c in vocab.importers(name)
        ],
        "as_source": as_source,
        "as_destination": as_destination,
    }


def build_index(catalog: Catalog) -> dict[str, Any]:
    """The whole catalog as JSON-able data (see the module docstring)."""
    vocab = catalog.vocabulary
    used = {n for s in catalog.solutions for n in (*s.sources, *s.destinations)}
    names = sorted({s.name for s in vocab.services} | used, key=str.lower)
    counts: dict[str, int] = defaultdict(int)
    for solution in catalog.solutions:
        counts[solution.datatype] += 1
    return {
        "version": INDEX_VERSION,
        "datatypes": [
            {
                "name": d.name,
                "slug": d.slug,
                "url": datatype_url(d.name),
                "description": d.description,
                "aliases": list(d.aliases),
                "vertical": d.vertical,
                "count": counts.get(d.name, 0),
            }
            for d in vocab.datatypes
        ],
        "services": [_service_entry(catalog, n, vocab.service(n)) for n in names],
        "solutions": [
            {
                "slug": s.slug,
                "url": solution_url(s),
                "title": s.title,
                "datatype": s.datatype,
                "sources": list(s.sources),
                "destinations": list(s.destinations),
                "summary": s.summary,
                "runnable": [p.model_dump() for p in s.runnable],
            }
            for s in catalog.solutions
        ],
        "map": service_map(catalog.solutions),
    }


def index_json(index: dict[str, Any]) -> str:
    return json.dumps(index, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def index_script(index: dict[str, Any]) -> str:
    """The index as a classic script (``window.PORTMAP_INDEX = ...``), loadable from file://.

    Every ``<`` is written as ``\\u003c`` (it can only occur inside JSON strings, where the escape
    means the same character), so no text in a page can close the script element (``</script>``)
    or switch the HTML parser into its comment-like script states (``<!--``). U+2028 and U+2029 are
    escaped too: valid in JSON strings, but line terminators to JavaScript engines before ES2019.
    The script is also served as its own file, never inlined, which is a second line of defence.
    """
    payload = (
        index_json(index).replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )
    return f"window.PORTMAP_INDEX = {payload};\n"
