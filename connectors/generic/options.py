"""The Generic Importer destination's options (``-o generic.KEY=VALUE``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..options import ConnectorOptions

__all__ = ["GenericOptions"]


class GenericOptions(ConnectorOptions):
    """What a transfer into a Generic Importer destination may be told."""

    connector_name = "generic"

    export_service: str | None = Field(
        None, description="value of X-DTP-Export-Service (default: the exporting connector's service name)"
    )
    timeout: float = Field(60.0, gt=0, description="seconds per network operation")
    concurrency: int = Field(4, ge=1, le=64, description="requests in flight at once (1: one after another, like DTP)")
    lookup: Literal["auto", "on", "off"] = Field(
        "auto", description="ferry's lookup extension: auto (ask the destination once), on, off"
    )
    idempotency_key: bool = Field(False, description="send an Idempotency-Key header with each item's key (ferry extension)")
    spool_dir: str | None = Field(None, description="where bytes of unknown size are spooled before upload (default: system temp)")
