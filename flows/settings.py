"""ferry's configuration, read once by the CLI or a flow entry point and passed down.

Sources, highest first: keyword arguments, ``FERRY_*`` environment variables, the TOML config
file (``$FERRY_CONFIG``, else ``./ferry.toml`` when it exists, else ``ferry.toml`` in the user's
config directory), the defaults below. Library code under ``connectors/`` never reads any of this.

Why the default data directory is the user's data directory (platformdirs) and not ``./.ferry``:
a job store that depends on the current directory made ``ferry jobs list`` answer "No jobs yet"
from any other directory.

Lives in ``flows/`` because both the CLI (``ferry/``) and the flows read it; ``flows/`` must not
import the app shell.
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

import pydantic_settings
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from connectors.errors import ConfigError

__all__ = ["Settings", "SettingsError", "load_settings", "default_data_dir"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ConfigError):
    """A setting has a value ferry cannot use; the message names the setting and its source."""


def default_data_dir() -> Path:
    """The user's data directory for ferry (``~/.local/share/ferry`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("ferry", appauthor=False))


def _config_file() -> Path:
    """The TOML file settings are read from (it may not exist, unless FERRY_CONFIG names it)."""
    given = os.environ.get("FERRY_CONFIG")
    if given:
        return Path(given).expanduser()
    local = Path("ferry.toml")
    if local.exists():
        return local
    import platformdirs

    return Path(platformdirs.user_config_dir("ferry", appauthor=False)) / "ferry.toml"


class _TomlFile(TomlConfigSettingsSource):
    """``ferry.toml``, read so that every way it can be wrong is one line naming the file.

    Why not pydantic-settings' own source as is: a syntax error surfaced as a TOMLDecodeError
    traceback, and a mistyped key (``datbase_url``) was silently ignored, so ferry quietly used
    its defaults instead of what the operator wrote.
    """

    def _read_file(self, file_path) -> dict[str, Any]:
        try:
            with Path(file_path).open("rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {file_path} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise SettingsError(f"config file {file_path} cannot be read: {exc.strerror or exc}") from None
        unknown = sorted(set(data) - set(Settings.model_fields))
        if unknown:
            raise SettingsError(
                f"config file {file_path}: unknown setting {', '.join(map(repr, unknown))}; "
                f"known settings: {', '.join(Settings.model_fields)}"
            )
        return data


class Settings(BaseSettings):
    """Where ferry keeps its state and how loud it is."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder for the SQLite job store, staging, the key file and Prefect's home "
        "(default: the user's data directory, e.g. ~/.local/share/ferry).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the job store; default sqlite:///<data_dir>/ferry.db. "
        "PostgreSQL works too: postgresql+psycopg://user@host/db.",
    )
    staging_url: str | None = Field(
        None, description="fsspec URL for staged bytes; default <data_dir>/staging."
    )
    log_level: str = Field("WARNING", description="Console log level: DEBUG, INFO, WARNING, ERROR.")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return value.upper()
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key that encrypts tokens at rest. Default: read or create <data_dir>/secret.key (0600).",
    )
    key_file: Path | None = Field(None, description="Path of the Fernet key file; default <data_dir>/secret.key.")
    oauth_redirect_uris: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1/callback"],
        description="Redirect URIs registered with OAuth providers; `ferry auth login` only listens on one of "
        "these (a URI without a port allows any port on that host).",
    )
    page_size: int | None = Field(
        None, ge=1, le=10_000,
        description="Items per exported page (one task batch) for every source; default: each connector's own "
        "(folder 500, meta 200). A connector option (-o folder.page_size=N) wins.",
    )
    runner: bool = Field(
        True,
        description="Run transfers in ferry's background runner (one per data dir: Prefect imported and its server "
        "started once); off (FERRY_RUNNER=off) runs them in the command's own process.",
    )
    runner_idle_seconds: float = Field(
        300.0, ge=0, le=86_400, description="Seconds the runner waits for another request before it exits (with its Prefect server)."
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="fsspec storage options passed to every fsspec URL (e.g. {client_kwargs={endpoint_url=...}}).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _TomlFile(settings_cls, toml_file=_config_file()),
        )

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ferry.db').resolve()}"

    @cached_property
    def resolved_staging_url(self) -> str:
        return self.staging_url or str((self.data_dir / "staging").resolve())

    @cached_property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.data_dir / "secret.key"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from overrides, environment and config file; creates ``data_dir``.

    Raises:
        SettingsError: a value is invalid; one line naming the setting, its variable and why.
    """
    given = os.environ.get("FERRY_CONFIG")
    if given and not _config_file().is_file():
        what = "is a folder" if _config_file().is_dir() else "does not exist"
        raise SettingsError(f"FERRY_CONFIG names {given}, which {what}; point it at a ferry.toml or unset it")
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, overrides)) from None
    except pydantic_settings.SettingsError as exc:  # a FERRY_* variable that does not parse (JSON)
        raise SettingsError(_describe_unparsable(exc)) from None
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"data_dir (FERRY_DATA_DIR) {settings.data_dir}: cannot create it: {exc.strerror}") from None
    return settings


def _origin(field: str, overrides: dict[str, Any]) -> str:
    """Where a setting's value came from, so the message says what to edit."""
    variable = f"FERRY_{field.upper()}"
    if field in overrides:
        return "given by the caller"
    if variable in os.environ:
        return variable
    return f"{variable}, set in {_config_file()}" if _config_file().is_file() else variable


def _describe(exc: ValidationError, overrides: dict[str, Any]) -> str:
    parts = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]) or "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{name} ({_origin(name.split('.')[0], overrides)}): {message}")
    return "bad setting " + "; ".join(parts)


def _describe_unparsable(exc: Exception) -> str:
    match = re.search(r'field "([^"]+)"', str(exc))
    name = match.group(1) if match else "settings"
    cause = exc.__cause__ or exc.__context__
    why = f"not valid JSON ({cause})" if cause is not None else str(exc)
    example = {"storage_options": ' e.g. {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}',
               "oauth_redirect_uris": ' e.g. ["http://127.0.0.1/callback"]'}.get(name, "")
    return f"bad setting {name} (FERRY_{name.upper()}): {why};{example}".rstrip(";")
