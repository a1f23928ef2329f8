"""The connector registry: names -> connectors, with capabilities, loaded lazily.

Built-in connectors register exactly like third-party ones: through the ``ferry.connectors``
entry-point group (see pyproject.toml), each entry pointing at a module attribute holding a
:class:`Connector`. The registry scans on first access, not at import time, and
:data:`BUILTIN` lets the built-ins load even from a source tree that was not pip-installed.

Endpoints on the command line are ``NAME:LOCATION`` (``meta:~/facebook.zip``,
``generic:https://dest.example/dtp``) or a bare location, which each connector's ``sniff`` may
claim (a ``.zip`` with a Meta layout, any fsspec URL as a folder).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from .base import RepeatSafety
from .errors import ConfigError
from .models import Vertical
from .options import ConnectorOptions
from .progress import NullProgress, Progress
from .state import MemoryStateSlot, StateSlot

if TYPE_CHECKING:
    from .base import Exporter, Importer

__all__ = [
    "Capabilities",
    "OAuthSpec",
    "ConnectorContext",
    "Connector",
    "Endpoint",
    "BUILTIN",
    "register",
    "unregister",
    "get",
    "all_connectors",
    "parse_endpoint",
]


def _capability(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Capabilities:
    """What a connector can do, declared once; the framework reads these flags and never probes.

    rclone's ``Features``: callers check a flag instead of catching NotImplementedError or
    asking ``hasattr``. Each flag names the method it promises and where the framework uses it;
    ``ferry connectors show NAME`` prints them (the ``help`` of each field). The connector kit
    (``connectors.testing.kit_for``) runs the scenarios that check each declared promise.

    Attributes:
        exports: verticals its exporter can list.
        imports: verticals its importer accepts.
        default_exports: what a transfer from it moves when the user names no types (None:
            every vertical both sides support). A folder source says blobs, so a plain folder
            copy copies each file once.
        incremental: on a vertical's last page its exporter returns ``Page.bookmark``, a cursor
            from which the next round of a recurring transfer lists only what is new or changed;
            the framework keeps it per recurring transfer and vertical (flows/steps.py).
        repeat_safety: how its importer lets the engine avoid sending an item twice after a
            crash (:class:`~connectors.base.RepeatSafety`): FINDS promises ``Importer.find``,
            RECOGNISES that importing an item again yields SKIPPED. An importer whose destination
            decides at run time narrows it in ``Importer.offered_repeat_safety``.
        reports_problems: its exporter names what did not become an item
            (``Exporter.problems``); the framework records them after each page.
        ephemeral_bytes: its byte refs expire (signed URLs, async downloads), so the framework
            stages bytes during export.
        cancels_requests: its exporter asks the source to prepare data (TikTok) and can take
            the request back (``Exporter.cancel_pending``); called when a job is canceled.
    """

    exports: frozenset[Vertical] = _capability(frozenset(), "verticals it exports")
    imports: frozenset[Vertical] = _capability(frozenset(), "verticals it imports")
    default_exports: frozenset[Vertical] | None = _capability(None, "what it exports when no types are named (-: all)")
    incremental: bool = _capability(False, "a recurring transfer's next round exports only what is new (Page.bookmark)")
    repeat_safety: RepeatSafety = _capability(
        RepeatSafety.NONE, "after a crash: finds = asks the destination, recognises = re-import is skipped, none = resent"
    )
    reports_problems: bool = _capability(False, "names what it could not read (Exporter.problems)")
    ephemeral_bytes: bool = _capability(False, "its bytes expire, so they are staged during export")
    cancels_requests: bool = _capability(False, "takes back a data request when a job is canceled (Exporter.cancel_pending)")


@dataclass(frozen=True)
class OAuthSpec:
    """How a connector authorizes (OAuth 2.0 authorization code + PKCE). No secrets here.

    Besides the endpoints, a connector declares what its provider tells about the user (each
    overridable on ``ferry auth login``):

    * who the user is, so notices naming the provider's user id find the credential:
      ``account_field`` in the token answer (TikTok's ``open_id``), else ``userinfo_endpoint``
      (GET with the access token) and its ``userinfo_account_field`` (a dotted path, e.g.
      ``data.user.open_id``);
    * when the user's access ends: ``access_expiry_url`` (GET with the access token; ``{account}``
      is replaced by the user id) answers ``access_expiry_field`` on the object or on each item of
      its ``data`` list (Meta's ``user_access_expire_time``); the daily maintenance flow asks;
    * ``pkce_encoding``: ``base64url`` (RFC 7636 S256) or ``hex`` (TikTok's desktop flow sends the
      SHA-256 of the verifier hex-encoded, still as method S256).
    """

    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    revocation_endpoint: str | None = None
    metadata_url: str | None = None  # RFC 8414 discovery, used when endpoints are not given
    scopes: tuple[str, ...] = ()
    client_id_param: str = "client_id"  # TikTok calls it client_key
    scope_separator: str = " "  # RFC 6749 says space; TikTok wants commas
    pkce_encoding: str = "base64url"
    account_field: str | None = None
    userinfo_endpoint: str | None = None
    userinfo_account_field: str = "sub"
    access_expiry_url: str | None = None
    access_expiry_field: str = "user_access_expire_time"


@dataclass
class ConnectorContext:
    """Everything a factory needs to build an exporter or importer; plain values only.

    Attributes:
        location: the part after ``NAME:`` (a path, URL or account hint).
        options: the connector's options, parsed into its declared model
            (:attr:`Connector.options`); a plain mapping from tests or embedding code is parsed
            by the factory (``MyOptions.of(ctx)``).
        auth: a token provider from the credential store (``connectors.oauth``), or None.
        staging_url: an fsspec URL the connector may use for temporary bytes.
        storage_options: fsspec storage options (endpoint URLs for S3 and the like).
        progress: where an exporter reports long work of its own (a big download), so the
            user sees a bar: ``expect(bytes=n)`` when a download of ``n`` bytes starts (each
            attempt), ``advance(bytes=k)`` as it streams. The framework shows it apart from the
            bytes delivered; importers report those through ``ImportContext.progress``.
        state: the job-scoped state slot of this side of the transfer (see
            :mod:`connectors.state`); in memory unless the framework gives its stored one.
        verticals: what this transfer exports (set by the engine for sources), so a source can
            name what it leaves out ("not selected") instead of calling it unreadable.
        granted_scopes: the scopes the credential in ``auth`` was granted, when the framework
            knows them (None: unknown), so a factory can refuse a request the grant cannot
            serve before any network call.
    """

    location: str
    options: ConnectorOptions | Mapping[str, Any] = field(default_factory=dict)
    auth: Any = None
    staging_url: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    progress: Progress = field(default_factory=NullProgress)
    verticals: frozenset[Vertical] | None = None
    state: StateSlot = field(default_factory=MemoryStateSlot)
    granted_scopes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Connector:
    """A registry entry.

    Attributes:
        name: short id used in endpoints (``meta``, ``folder``, ``generic``, ``tiktok``).
        title: human name shown by ``ferry connectors list``.
        capabilities: see :class:`Capabilities`.
        options: the model of its ``-o NAME.KEY=VALUE`` options (:mod:`connectors.options`),
            validated when a request is made and shown by ``ferry connectors show``. None (not
            declared yet): options reach the factory as the plain mapping given, unchecked.
        services: names of services (as in the catalog's services table) it exports from or
            imports into, so the portmap can say "runnable with ferry".
        make_exporter / make_importer: factories taking a :class:`ConnectorContext`.
        sniff_source / sniff_destination: claim a bare location (no ``NAME:`` prefix).
        oauth: how to authorize, for connectors that need credentials.
        priority: lower sniffs first (specific formats before the generic folder).
        check_location: ``check_location(location, role)`` raises ConfigError naming the path
            when the location cannot work (no such file, a destination that is a file); cheap,
            no network, run before a job is created.
        revoke_when_done: ``revoke_when_done(granted_scopes)`` says whether a credential of this
            connector is revoked once no job or recurring transfer uses it any more. None: it
            is (ferry's default for one-off transfers). TikTok keeps an ``.ongoing`` grant and
            revokes a ``.single`` one, whose one data request is spent.
    """

    name: str
    title: str
    capabilities: Capabilities
    services: tuple[str, ...] = ()
    make_exporter: Callable[[ConnectorContext], "Exporter"] | None = None
    make_importer: Callable[[ConnectorContext], "Importer"] | None = None
    sniff_source: Callable[[str], bool] | None = None
    sniff_destination: Callable[[str], bool] | None = None
    oauth: OAuthSpec | None = None
    priority: int = 50
    description: str = ""
    check_location: Callable[[str, str], None] | None = None
    revoke_when_done: Callable[[tuple[str, ...]], bool] | None = None
    options: type[ConnectorOptions] | None = None

    @property
    def needs_credentials(self) -> bool:
        return self.oauth is not None

    def parse_options(self, raw: Mapping[str, Any] | None) -> ConnectorOptions | Mapping[str, Any]:
        """``raw`` (``-o`` strings, deployment JSON) as this connector's options model.

        Raises:
            ConfigError: an unknown or mistyped option, named, with the valid ones listed.
        """
        if self.options is None:
            return dict(raw or {})
        return self.options.parse(raw, connector=self.name)


#: Built-in connectors, loaded through the same path as entry points ("module:attribute").
BUILTIN: dict[str, str] = {
    "meta": "connectors.meta:CONNECTOR",
    "folder": "connectors.folder:CONNECTOR",
    "generic": "connectors.generic:CONNECTOR",
    "tiktok": "connectors.tiktok:CONNECTOR",
    "example": "connectors.example:CONNECTOR",  # the SDK's worked example (docs/writing-a-connector.md)
}

_lock = threading.Lock()
_loaded: dict[str, Connector] | None = None
_extra: dict[str, Connector] = {}
_load_errors: dict[str, str] = {}


def _load_target(target: str) -> Connector:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    connector = getattr(module, attr)
    if not isinstance(connector, Connector):
        raise TypeError(f"{target} is a {type(connector).__name__}, not a Connector")
    return connector


def _scan() -> dict[str, Connector]:
    targets = dict(BUILTIN)
    for ep in entry_points(group="ferry.connectors"):
        targets.setdefault(ep.name, ep.value)
    found: dict[str, Connector] = {}
    for name, target in targets.items():
        try:
            connector = _load_target(target)
            found.setdefault(connector.name, connector)
        except ModuleNotFoundError as exc:
            # A built-in whose module is not written yet, or a plugin missing a dependency:
            # remember why, so `ferry connectors list` can tell the user.
            _load_errors[name] = f"{target}: {exc}"
        except Exception as exc:  # a broken plugin must not take the others down
            _load_errors[name] = f"{target}: {type(exc).__name__}: {exc}"
    return found


def _connectors() -> dict[str, Connector]:
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _scan()
    return {**_loaded, **_extra}


def register(connector: Connector) -> None:
    """Add (or replace) a connector at run time; tests and embedding apps use this."""
    _extra[connector.name] = connector


def unregister(name: str) -> None:
    _extra.pop(name, None)


def load_errors() -> dict[str, str]:
    """Connectors that failed to load, with why."""
    _connectors()
    return dict(_load_errors)


def all_connectors() -> list[Connector]:
    """Every loaded connector, sorted by name."""
    return sorted(_connectors().values(), key=lambda c: c.name)


def get(name: str) -> Connector:
    """Return the connector called ``name`` or raise ConfigError listing the known ones."""
    found = _connectors().get(name)
    if found is None:
        known = ", ".join(sorted(_connectors())) or "none"
        raise ConfigError(f"unknown connector {name!r}; known connectors: {known}")
    return found


@dataclass(frozen=True)
class Endpoint:
    """A parsed ``NAME:LOCATION`` command-line endpoint."""

    connector: Connector
    location: str

    def __str__(self) -> str:
        return f"{self.connector.name}:{self.location}"


def parse_endpoint(text: str, *, role: str) -> Endpoint:
    """Resolve a source (``role="source"``) or destination (``role="destination"``) string.

    ``NAME:LOCATION`` picks the connector explicitly. Otherwise connectors are asked in priority
    order whether they claim the bare location. Raises ConfigError naming the text when nothing
    fits, or when the named connector cannot play the role.
    """
    if role not in ("source", "destination"):
        raise ValueError(role)
    connectors = _connectors()
    name, sep, rest = text.partition(":")
    if sep and name in connectors and not rest.startswith("//"):
        connector = connectors[name]
        maker = connector.make_exporter if role == "source" else connector.make_importer
        if maker is None:
            raise ConfigError(f"connector {name!r} cannot be a {role} (in {text!r})")
        return Endpoint(connector, rest)
    for connector in sorted(connectors.values(), key=lambda c: (c.priority, c.name)):
        sniff = connector.sniff_source if role == "source" else connector.sniff_destination
        if sniff is not None and sniff(text):
            return Endpoint(connector, text)
    known = ", ".join(f"{n}:" for n in sorted(connectors))
    if role == "source" and not sep:  # a bare path that names nothing: say so
        from .locations import local_path

        path = local_path(text)
        if path is not None and not path.exists():
            raise ConfigError(f"no such file or folder: {text}")
    raise ConfigError(f"no connector can use {text!r} as a {role}; prefix it with one of {known}")
