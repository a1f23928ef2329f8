"""ferry's portmap catalog: solution pages -> checked model -> index, search and static site.

The catalog never imports ``connectors`` or ``flows``: callers pass ferry's connectors in as
plain :class:`ConnectorInfo` values (the CLI bridge in ``ferry/cli/catalog.py`` does that).

Typical use::

    from catalog import ConnectorInfo, build_site, load_catalog, Searcher
    report = build_site("content/solutions", "content/services.yaml", "site", connectors=[...])
    hits = Searcher.from_catalog(load_catalog("content/solutions", "content/services.yaml")).search(
        source="facebook", datatype="photos")
"""

from .index import build_index, service_map
from .loader import Catalog, check, load_catalog, runnable_pairs
from .model import ConnectorInfo, Datatype, RunnablePair, Service, Solution
from .problems import Kind, Problem, Severity, count_by_kind, has_errors
from .search import Hit, Searcher, search
from .serve import PreviewServer
from .site import BuildReport, CatalogBuildError, build_site, write_site

__all__ = [
    "BuildReport",
    "Catalog",
    "CatalogBuildError",
    "ConnectorInfo",
    "Datatype",
    "Hit",
    "Kind",
    "PreviewServer",
    "Problem",
    "RunnablePair",
    "Searcher",
    "Service",
    "Severity",
    "Solution",
    "build_index",
    "build_site",
    "check",
    "count_by_kind",
    "has_errors",
    "load_catalog",
    "runnable_pairs",
    "search",
    "service_map",
    "write_site",
]
