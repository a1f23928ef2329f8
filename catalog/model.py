"""The catalog's data model: data types, services, connectors (as plain data) and solutions.

Why pydantic here: solution pages and the services table are hand-written, so every value is
validated once on the way in and everything downstream (index, search, site) can trust it.
:class:`ConnectorInfo` is a plain dataclass because it is filled by the CLI bridge from the
connector registry: the catalog never imports ``connectors`` itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .fuzzy import normalize

__all__ = ["slugify", "ConnectorInfo", "Datatype", "Service", "Solution", "RunnablePair"]


def slugify(text: str) -> str:
    """URL-safe slug: ``"Amazon S3"`` -> ``"amazon-s3"`` (never empty)."""
    slug = re.sub(r"\s+", "-", normalize(text))
    return slug or "item"


@dataclass(frozen=True)
class ConnectorInfo:
    """What the catalog needs to know about one ferry connector.

    Attributes:
        name: endpoint prefix (``meta`` in ``meta:~/facebook-export.zip``).
        title: human name.
        services: service names (as in services.yaml, or an alias) it exports from or imports into.
        exports: vertical names (``photos``, ``videos``, ``media``, ``social-posts``, ``calendar``,
            ``blobs``) its exporter lists.
        imports: vertical names its importer accepts.
    """

    name: str
    title: str = ""
    services: tuple[str, ...] = ()
    exports: frozenset[str] = field(default_factory=frozenset)
    imports: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Accept enum members (StrEnum) or strings; keep plain strings.
        object.__setattr__(self, "exports", frozenset(str(v) for v in self.exports))
        object.__setattr__(self, "imports", frozenset(str(v) for v in self.imports))
        object.__setattr__(self, "services", tuple(self.services))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Datatype(_Frozen):
    """A kind of data a solution moves (the portmap's datatypes, plus ferry's verticals)."""

    name: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    vertical: str | None = Field(None, description="The ferry vertical it maps to, if any.")

    @property
    def slug(self) -> str:
        return slugify(self.name)


class Service(_Frozen):
    """A row of content/services.yaml."""

    name: str
    aliases: tuple[str, ...] = ()
    homepage: str | None = None
    offers: tuple[str, ...] = Field((), description="Data types (verticals) the service holds.")
    location: str | None = Field(
        None, description="Example ferry endpoint location, used in generated commands."
    )
    note: str | None = None

    @field_validator("aliases", "offers", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @property
    def slug(self) -> str:
        return slugify(self.name)


class RunnablePair(_Frozen):
    """A source -> destination move ferry can run, with the exact command."""

    source: str
    destination: str
    exporter: str
    importer: str
    vertical: str
    command: str


class Solution(_Frozen):
    """A parsed solution page, with names resolved to the services table where possible."""

    slug: str
    path: str
    title: str
    datatype: str
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    body: str = ""
    summary: str = ""
    extra: dict[str, Any] = Field(default_factory=dict, description="Optional fields, kept as written.")
    runnable: tuple[RunnablePair, ...] = ()

    @property
    def is_runnable(self) -> bool:
        return bool(self.runnable)
