"""Connector options: one pydantic model per connector, declared on its registry record.

A connector declares what ``-o NAME.KEY=VALUE`` may say as a :class:`ConnectorOptions` subclass
(``Connector.options``): each field with its type, default and ``description``. The framework
parses the user's strings (or a deployment's JSON values) into that model once, when the request
is made, so an unknown or mistyped option is a :class:`~connectors.errors.ConfigError` naming it
and listing the valid ones, before any job exists; the factory then receives the parsed model as
``ConnectorContext.options``. ``ferry connectors show NAME`` and the docs' option tables are
printed from the same fields (:func:`describe`, :func:`markdown_table`), so they cannot drift.

    class FolderOptions(ConnectorOptions):
        transfers: int = Field(4, ge=1, description="byte copies the importer runs at once")

    def make_importer(ctx):
        options = FolderOptions.of(ctx)       # the parsed model (or a test's plain mapping, parsed)
        return FolderImporter(..., transfers=options.transfers)

Strings convert as a command line would expect: ``"4"`` to 4, ``"true"``/``"yes"``/``"on"``/``"1"``
to True. A field named ``page_size`` is the framework's page size: the engine fills it from the
``page_size`` setting unless the user set it for this connector.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .errors import ConfigError

__all__ = [
    "ConnectorOptions",
    "NoOptions",
    "OptionInfo",
    "describe",
    "markdown_table",
    "PAGE_SIZE",
    "int_option",
    "float_option",
    "flag_option",
]

#: The option the framework fills from its ``page_size`` setting when a connector declares it.
PAGE_SIZE = "page_size"


class ConnectorOptions(BaseModel):
    """Base of every connector's options: frozen, and unknown keys are an error.

    Class attributes:
        connector_name: the connector named in error messages (set by :meth:`parse`'s caller
            through ``connector=``; this is the fallback).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    connector_name: ClassVar[str] = ""

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | ConnectorOptions | None, *, connector: str | None = None):
        """Validate ``raw`` into this model; ConfigError names the option and lists the valid ones."""
        if isinstance(raw, cls):
            return raw
        if isinstance(raw, ConnectorOptions):
            raw = raw.model_dump()
        name = connector or cls.connector_name or cls.__name__
        values = {key: value.strip() if isinstance(value, str) else value for key, value in dict(raw or {}).items()}
        unknown = sorted(str(key) for key in values if key not in cls.model_fields)
        if unknown:
            raise ConfigError(f"{name}: unknown option {', '.join(unknown)}; {_valid(cls)}")
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problem = exc.errors()[0]
            key = ".".join(str(part) for part in problem["loc"]) or "(options)"
            first = str(problem["loc"][0]) if problem["loc"] else None
            got = f", got {values[first]!r}" if first is not None and first in values else ""
            raise ConfigError(f"{name}: option {key} {_lowercase(problem['msg'])}{got}; {_valid(cls)}") from None

    @classmethod
    def of(cls, ctx: Any):
        """The parsed options in ``ctx.options`` (a ``ConnectorContext``): the framework's model,
        or a plain mapping (tests, embedding code) parsed now."""
        return cls.parse(ctx.options)


class NoOptions(ConnectorOptions):
    """For connectors that take no options (any option is then an error)."""


@dataclass(frozen=True)
class OptionInfo:
    """One declared option, as ``ferry connectors show`` and the docs print it."""

    name: str
    type: str
    default: str
    description: str


def _type_name(annotation: Any) -> str:
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    if args and all(isinstance(a, str) for a in args):
        return "one of " + ", ".join(args)  # Literal["json", "text"]
    if len(args) == 1:  # X | None, frozenset[X]
        inner = _type_name(args[0])
        return f"comma list of {inner}" if getattr(annotation, "__origin__", None) in (frozenset, tuple, list) else inner
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(str(member.value) for member in annotation)
    names = {bool: "bool", int: "int", float: "float", str: "str"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined:
        return "(required)"
    if field.default is None:
        return "-"
    if isinstance(field.default, bool):
        return "true" if field.default else "false"
    if isinstance(field.default, (tuple, list, frozenset)):
        return ",".join(str(v) for v in field.default) or "-"
    return str(field.default)


def describe(model: type[ConnectorOptions]) -> list[OptionInfo]:
    """The declared options of ``model``, in declaration order."""
    return [
        OptionInfo(name, _type_name(field.annotation), _default(field), " ".join((field.description or "").split()))
        for name, field in model.model_fields.items()
    ]


def markdown_table(model: type[ConnectorOptions]) -> str:
    """The options of ``model`` as the Markdown table the docs carry (tests compare the two)."""
    rows = ["| Option | Type | Default | Meaning |", "|---|---|---|---|"]
    for option in describe(model):
        cells = (f"`{option.name}`", option.type, option.default, option.description)
        rows.append("| " + " | ".join(cell.replace("|", "\\|").replace("<", "&lt;") for cell in cells) + " |")
    if len(rows) == 2:
        return "This connector takes no options."
    return "\n".join(rows)


def _valid(model: type[ConnectorOptions]) -> str:
    names = list(model.model_fields)
    return f"valid options: {', '.join(names)}" if names else "it takes no options"


def _lowercase(message: str) -> str:
    return message[:1].lower() + message[1:]


# -- the helpers connectors used before declaring models (kept while the last ones move over) -----

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def int_option(options: Mapping[str, Any], name: str, default: int, *, connector: str, minimum: int = 1) -> int:
    """A whole number of at least ``minimum``."""
    value = options.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{connector}: option {name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{connector}: option {name} must be at least {minimum}, got {number}")
    return number


def float_option(options: Mapping[str, Any], name: str, default: float, *, connector: str, minimum: float = 0.0) -> float:
    """A number (seconds, factors) of at least ``minimum``."""
    value = options.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{connector}: option {name} must be a number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{connector}: option {name} must be at least {minimum:g}, got {number:g}")
    return number


def flag_option(options: Mapping[str, Any], name: str, default: bool = False, *, connector: str) -> bool:
    """A boolean: true/false, yes/no, on/off, 1/0."""
    value = options.get(name, default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{connector}: option {name} must be true or false, got {value!r}")
