"""Reading connector options: strings from a command line or a deployment, checked once.

Options arrive as ``-o CONNECTOR.KEY=VALUE`` strings or as JSON values from a Prefect
deployment; every connector needs the same three conversions, each failing with a ConfigError
that names the connector, the option and the bad value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

__all__ = ["int_option", "float_option", "flag_option"]

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
