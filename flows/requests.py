"""A transfer request: parse and validate it, then store it as a job. No Prefect here.

Why its own module: bad input (a missing path, a destination that is a file, an unknown type or
connector, a connector that cannot play that role, a missing or dead credential) must be
answered in well under a second with the real reason, and no job may be created for it. Nothing
here imports Prefect or talks to the network, and only the credential check opens the job store
(imported when it runs), so the CLI can refuse a bad path or type before it loads a database
driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors import registry
from connectors.converters import Route, plan_route
from connectors.errors import ConfigError
from connectors.models import Vertical
from connectors.registry import Endpoint

if TYPE_CHECKING:
    from .store import Job

__all__ = [
    "TYPE_ALIASES",
    "TransferRequest",
    "parse_types",
    "default_types",
    "validate_request",
    "absolute_endpoint",
    "check_credential",
    "require_credential",
    "create_job",
]

TYPE_ALIASES = {
    "photo": "photos",
    "video": "videos",
    "posts": "social-posts",
    "post": "social-posts",
    "social": "social-posts",
    "events": "calendar",
    "calendars": "calendar",
    "files": "blobs",
    "blob": "blobs",
}


@dataclass(frozen=True)
class TransferRequest:
    """A validated request: resolved endpoints and one route per requested vertical."""

    source: Endpoint
    destination: Endpoint
    routes: tuple[Route, ...]

    @property
    def types(self) -> list[str]:
        return [route.requested.value for route in self.routes]


def parse_types(values: Iterable[str] | str) -> list[Vertical]:
    """Turn user input like ``photos,posts`` (or a list of such) into verticals.

    Raises ConfigError naming the bad value and the known ones.
    """
    if isinstance(values, str):
        values = [values]
    out: list[Vertical] = []
    for value in values:
        for part in str(value).split(","):
            name = part.strip().strip("[]\"' ").lower()
            if not name:
                continue
            name = TYPE_ALIASES.get(name, name)
            try:
                vertical = Vertical(name)
            except ValueError:
                known = ", ".join(v.value for v in Vertical)
                raise ConfigError(f"unknown data type {part.strip()!r}; known types: {known}") from None
            if vertical not in out:
                out.append(vertical)
    return out


def default_types(source: Endpoint, destination: Endpoint) -> list[Vertical]:
    """What moves when no types are named: the source's defaults (or everything it exports) that
    can reach the destination, photos/videos rather than media when both exist."""
    exports = source.connector.capabilities.exports
    imports = destination.connector.capabilities.imports
    wanted = source.connector.capabilities.default_exports or exports
    chosen = []
    for vertical in Vertical:
        if vertical not in wanted or vertical == Vertical.MEDIA and {Vertical.PHOTOS, Vertical.VIDEOS} <= wanted:
            continue
        try:
            plan_route(vertical, exports, imports)
        except ConfigError:
            continue
        chosen.append(vertical)
    return chosen


def validate_request(
    source: str,
    destination: str,
    types: Iterable[str] | str | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> TransferRequest:
    """Resolve endpoints and routes, check local locations and each connector's options.

    Raises:
        ConfigError: says what is wrong: an unknown or mistyped option names the option and
            lists the valid ones (``Connector.options``).
    """
    src = registry.parse_endpoint(source, role="source")
    dst = registry.parse_endpoint(destination, role="destination")
    for endpoint, role in ((src, "source"), (dst, "destination")):
        if endpoint.connector.check_location is not None:
            endpoint.connector.check_location(endpoint.location, role)
    _check_options(src, dst, options or {})
    verticals = parse_types(types) if types else default_types(src, dst)
    if not verticals:
        raise ConfigError(f"nothing {src.connector.name} exports can be imported by {dst.connector.name}")
    routes = tuple(plan_route(v, src.connector.capabilities.exports, dst.connector.capabilities.imports) for v in verticals)
    return TransferRequest(src, dst, routes)


def absolute_endpoint(text: str, role: str) -> str:
    """``text`` with a local path made absolute (``NAME:/abs/path``), so the job means the same
    file from any directory, and to a process (ferry's runner) that runs elsewhere."""
    from connectors.locations import local_path

    endpoint = registry.parse_endpoint(text, role=role)
    location = endpoint.location
    if endpoint.connector.check_location is None or not location:
        return text
    path = local_path(location)
    if path is None:
        return text
    return f"{endpoint.connector.name}:{path.resolve()}"


def require_credential(endpoint: Endpoint, credential_id: str | None, role: str) -> None:
    """ConfigError when ``endpoint`` needs a credential and none was given (no store needed)."""
    connector = endpoint.connector
    if not credential_id and connector.needs_credentials:
        raise ConfigError(
            f"{connector.name} needs a credential: run `ferry auth login {connector.name}` and pass its id with --{role}-credential"
        )


def check_credential(engine, endpoint: Endpoint, credential_id: str | None, role: str) -> str | None:
    """The full credential id to use for ``endpoint``, or ConfigError naming the fix."""
    from .store import CredentialStatus
    from .store.credential_rows import credential_row

    connector = endpoint.connector
    require_credential(endpoint, credential_id, role)
    if not credential_id:
        return None
    row = credential_row(engine, credential_id)
    if row is None:
        raise ConfigError(f"no credential {credential_id!r}; `ferry auth list` shows the stored ones")
    if row.connector != connector.name:
        raise ConfigError(f"credential {row.id[:8]} is for {row.connector}, not {connector.name}")
    if row.status == CredentialStatus.NEEDS_REAUTH:
        raise ConfigError(f"credential {row.id[:8]} needs re-authorization ({row.status_reason}): run `ferry reconnect {row.id[:8]}`")
    if row.status in (CredentialStatus.REVOKED, CredentialStatus.REVOKING):
        raise ConfigError(f"credential {row.id[:8]} was revoked; run `ferry auth login {connector.name}` for a new one")
    return row.id


def create_job(
    ctx,
    source: str,
    destination: str,
    types: Iterable[str] | str | None = None,
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    source_credential_id: str | None = None,
    destination_credential_id: str | None = None,
    recurring_id: str | None = None,
) -> Job:
    """Validate a request and store it as a NEW job (``ctx`` is a :class:`flows.context.FerryContext`)."""
    options = dict(options or {})
    request = validate_request(source, destination, types, options)
    return ctx.jobs.create(
        source=source,
        destination=destination,
        types=request.types,
        options=options,
        source_credential_id=check_credential(ctx.engine, request.source, source_credential_id, "source"),
        destination_credential_id=check_credential(ctx.engine, request.destination, destination_credential_id, "destination"),
        recurring_id=recurring_id,
    )


def _check_options(source: Endpoint, destination: Endpoint, options: Mapping[str, Mapping[str, Any]]) -> None:
    connectors = {source.connector.name: source.connector, destination.connector.name: destination.connector}
    for name, values in options.items():
        if name not in connectors:
            raise ConfigError(f"option for {name!r}, but this transfer uses {' and '.join(sorted(connectors))}")
        connectors[name].parse_options(values)


def split_types(values: Sequence[str] | str | None) -> list[str]:
    """A ``types`` flow parameter (a list, or a comma string as typed in the Prefect UI) as a list."""
    if values is None:
        return []
    return [v.value for v in parse_types(values)]
