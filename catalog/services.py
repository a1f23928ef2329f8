"""The vocabulary pages are checked against: data types and the services table.

``content/services.yaml`` holds canonical service names, aliases, homepages and what each
service offers; data types come from the package default (``datatypes.yaml``) plus an optional
``datatypes:`` section of the services file. Which ferry connector serves a service is *not*
written here: it comes from the connector registry at build time (see :class:`ConnectorInfo`).

Lookups are alias-aware and insensitive to case, accents and punctuation; misses come with the
closest known name, so "Instagarm" gets "did you mean 'Instagram'?".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .fuzzy import closest, normalize
from .model import ConnectorInfo, Datatype, Service
from .problems import Kind, Problem, Severity

__all__ = ["Vocabulary", "load_vocabulary", "default_datatypes"]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping under the ``__line__`` key."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_rows(
    rows: Any, model: type[Datatype] | type[Service], shown: str, section: str, problems: list[Problem]
) -> list[Any]:
    if rows is None:
        return []
    if not isinstance(rows, list):
        problems.append(
            Problem(shown, 1, Severity.ERROR, Kind.SERVICES_FILE, f"'{section}' must be a list of entries")
        )
        return []
    out = []
    for row in rows:
        line = row.pop("__line__", 0) if isinstance(row, dict) else 0
        try:
            out.append(model.model_validate(row))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "entry"
            problems.append(
                Problem(
                    shown, line, Severity.ERROR, Kind.SERVICES_FILE,
                    f"bad {section} entry ({where}): {first['msg']}",
                )
            )
    return out


def default_datatypes() -> list[Datatype]:
    """The data types shipped with the catalog (the portmap's list plus ferry's verticals)."""
    text = resources.files("catalog").joinpath("datatypes.yaml").read_text(encoding="utf-8")
    return [Datatype.model_validate(row) for row in yaml.safe_load(text)]


@dataclass
class Vocabulary:
    """Known data types and services, with alias-aware lookup and the connectors serving them."""

    datatypes: list[Datatype]
    services: list[Service]
    connectors: list[ConnectorInfo] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _service_keys: dict[str, Service] = field(default_factory=dict, repr=False)
    _datatype_keys: dict[str, Datatype] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for datatype in self.datatypes:
            for name in (datatype.name, *datatype.aliases):
                self._datatype_keys.setdefault(normalize(name), datatype)
        for service in self.services:
            for name in (service.name, *service.aliases):
                self._service_keys.setdefault(normalize(name), service)

    # -- lookups ---------------------------------------------------------------------------

    def service(self, name: str) -> Service | None:
        """The service called ``name`` (canonical or alias, any case), or None."""
        return self._service_keys.get(normalize(name))

    def datatype(self, name: str) -> Datatype | None:
        return self._datatype_keys.get(normalize(name))

    def suggest_service(self, name: str) -> str | None:
        """Canonical name of the service closest to a misspelt ``name``."""
        best = closest(name, [*self._service_names_and_aliases()])
        return self.service(best).name if best else None

    def suggest_datatype(self, name: str) -> str | None:
        names = [n for d in self.datatypes for n in (d.name, *d.aliases)]
        best = closest(name, names)
        found = self.datatype(best) if best else None
        return found.name if found else None

    def _service_names_and_aliases(self) -> Iterable[str]:
        for service in self.services:
            yield service.name
            yield from service.aliases

    def canonical_service(self, name: str) -> str:
        """Canonical spelling of ``name`` if known, else ``name`` stripped."""
        found = self.service(name)
        return found.name if found else name.strip()

    # -- connectors ------------------------------------------------------------------------

    def exporters(self, service: str, vertical: str | None = None) -> list[ConnectorInfo]:
        """Connectors that export from ``service`` (optionally: this vertical), by name."""
        return self._serving(service, vertical, "exports")

    def importers(self, service: str, vertical: str | None = None) -> list[ConnectorInfo]:
        return self._serving(service, vertical, "imports")

    def _serving(self, service: str, vertical: str | None, side: str) -> list[ConnectorInfo]:
        target = self.canonical_service(service)
        found = []
        for connector in self.connectors:
            verticals: frozenset[str] = getattr(connector, side)
            if "media" in verticals:  # a media connector handles photos and videos alike
                verticals = verticals | {"photos", "videos"}
            if not verticals or (vertical is not None and vertical not in verticals):
                continue
            if any(self.canonical_service(s) == target for s in connector.services):
                found.append(connector)
        return sorted(found, key=lambda c: c.name)

    def connector_problems(self, shown: str) -> list[Problem]:
        """Warnings for connectors naming services the table does not know."""
        out = []
        for connector in self.connectors:
            for name in connector.services:
                if self.service(name) is None:
                    hint = self.suggest_service(name)
                    tip = f" (did you mean '{hint}'?)" if hint else "; add it to the services table"
                    out.append(
                        Problem(
                            shown, 0, Severity.WARNING, Kind.CONNECTOR_SERVICE,
                            f"connector '{connector.name}' names service '{name}', unknown here{tip}",
                        )
                    )
        return out


def load_vocabulary(
    services_file: Path | None,
    connectors: Sequence[ConnectorInfo] = (),
    *,
    shown: str | None = None,
) -> Vocabulary:
    """Load the services table (and extra data types) from ``services_file``.

    Never raises for bad content: problems are collected on the returned vocabulary, which
    then holds whatever entries were valid. A missing file is an error problem too.
    """
    problems: list[Problem] = []
    datatypes = default_datatypes()
    services: list[Service] = []
    label = shown or str(services_file)
    data: Any = None
    if services_file is not None:
        try:
            data = yaml.load(services_file.read_text(encoding="utf-8"), Loader=_LineLoader)
        except FileNotFoundError:
            problems.append(Problem(label, 0, Severity.ERROR, Kind.SERVICES_FILE, "services file not found"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 0
            why = getattr(exc, "problem", None) or "invalid YAML"
            problems.append(Problem(label, line, Severity.ERROR, Kind.SERVICES_FILE, f"not valid YAML: {why}"))
    if data is not None and not isinstance(data, dict):
        problems.append(
            Problem(label, 1, Severity.ERROR, Kind.SERVICES_FILE, "expected 'services:' (and optional 'datatypes:') keys")
        )
        data = None
    if data:
        data.pop("__line__", None)
        extra_types = _load_rows(data.get("datatypes"), Datatype, label, "datatypes", problems)
        by_key = {normalize(d.name): d for d in datatypes}
        for datatype in extra_types:
            by_key[normalize(datatype.name)] = datatype
        datatypes = list(by_key.values())
        services = _load_rows(data.get("services"), Service, label, "services", problems)
    problems.extend(_duplicate_names(services, label))
    known_types = {normalize(n) for d in datatypes for n in (d.name, *d.aliases)}
    for service in services:
        for offered in service.offers:
            if normalize(offered) not in known_types:
                problems.append(
                    Problem(label, 0, Severity.ERROR, Kind.SERVICES_FILE,
                            f"service '{service.name}' offers unknown data type '{offered}'")
                )
    vocabulary = Vocabulary(datatypes, services, list(connectors), problems)
    vocabulary.problems.extend(vocabulary.connector_problems(label))
    return vocabulary


def _duplicate_names(services: list[Service], label: str) -> list[Problem]:
    seen: dict[str, str] = {}
    out = []
    for service in services:
        for name in (service.name, *service.aliases):
            key = normalize(name)
            if key in seen and seen[key] != service.name:
                out.append(
                    Problem(label, 0, Severity.ERROR, Kind.SERVICES_FILE,
                            f"name '{name}' of '{service.name}' is already used by '{seen[key]}'")
                )
            seen.setdefault(key, service.name)
    return out
