"""ferry's portmap catalog: solution pages -> checked model -> index, search and static site.

The catalog never imports ``connectors`` or ``flows``: callers pass ferry's connectors in as
plain :class:`ConnectorInfo` values (the CLI bridge in ``ferry/cli/catalog.py`` does that).
"""

from .loader import Catalog, check, load_catalog, runnable_pairs
from .model import ConnectorInfo, Datatype, RunnablePair, Service, Solution
from .problems import Kind, Problem, Severity, count_by_kind, has_errors

__all__ = [
    "Catalog",
    "ConnectorInfo",
    "Datatype",
    "Kind",
    "Problem",
    "RunnablePair",
    "Service",
    "Severity",
    "Solution",
    "check",
    "count_by_kind",
    "has_errors",
    "load_catalog",
    "runnable_pairs",
]
