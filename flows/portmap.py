"""The one bridge between the connector registry and the portmap catalog.

Why here: ``catalog/`` must not import ``connectors/`` (an import-linter contract), yet its
"runnable with ferry" badges come from the registry. The app shell hands the catalog plain
:class:`catalog.ConnectorInfo` values; the CLI and the ``catalog-build`` flow both call this.
"""

from __future__ import annotations

__all__ = ["connector_infos"]


def connector_infos() -> list:
    """ferry's loadable connectors (broken plugins are skipped by the registry) as catalog data."""
    from catalog import ConnectorInfo
    from connectors import registry

    return [
        ConnectorInfo(
            name=c.name,
            title=c.title,
            services=tuple(c.services),
            exports=frozenset(str(v) for v in c.capabilities.exports),
            imports=frozenset(str(v) for v in c.capabilities.imports),
        )
        for c in registry.all_connectors()
    ]
