"""How the framework builds a connector's :class:`~connectors.registry.ConnectorContext`: once, here.

A job's runtime (flows/runtime.py) and the commands that open a source or a destination without
a job (``ferry check``, ``ferry ls``, ``transfer --dry-run``: flows/preflight.py) build their
exporters and importers the same way: the stored credential's token source and granted scopes,
the connector's options parsed into its declared model, the framework's page size unless the
connector's options set one, fsspec storage options from the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.models import Vertical
from connectors.options import PAGE_SIZE
from connectors.progress import NullProgress, Progress
from connectors.registry import ConnectorContext, Endpoint
from connectors.state import MemoryStateSlot, StateSlot

from .context import FerryContext

__all__ = ["connector_context"]


def connector_context(
    ctx: FerryContext,
    endpoint: Endpoint,
    *,
    credential_id: str | None,
    options: Mapping[str, Any] | None,
    staging_url: str | None = None,
    progress: Progress | None = None,
    verticals: frozenset[Vertical] | None = None,
    state: StateSlot | None = None,
) -> ConnectorContext:
    """The context ``endpoint``'s factory gets.

    Args:
        credential_id: the stored credential of this side, or None.
        options: this connector's raw options (``-o NAME.KEY=VALUE``, a job's stored options).
        staging_url: where the connector may keep temporary bytes.
        progress: where a source reports long work of its own (default: nowhere).
        verticals: for a source, what the transfer exports.
        state: the connector's state slot (default: in memory, forgotten afterwards).

    Raises:
        ConfigError: an unknown or mistyped option, named.
    """
    auth = ctx.credentials.token_source(credential_id) if credential_id else None
    granted = tuple(auth.scopes) if auth is not None else ()
    connector = endpoint.connector
    raw = dict(options or {})
    page_size = ctx.settings.page_size  # the framework's page size, unless set for this connector
    declared = connector.options.model_fields if connector.options is not None else {PAGE_SIZE: None}
    if PAGE_SIZE in declared and page_size is not None:
        raw.setdefault(PAGE_SIZE, page_size)
    return ConnectorContext(
        location=endpoint.location,
        options=connector.parse_options(raw),
        auth=auth,
        staging_url=staging_url,
        storage_options=ctx.settings.storage_options,
        progress=progress or NullProgress(),
        verticals=verticals,
        state=state or MemoryStateSlot(),
        granted_scopes=granted or None,
    )
