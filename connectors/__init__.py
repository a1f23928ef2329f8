"""ferry's connector SDK: pure Python, no Prefect, no database.

Public surface (see each module's docstring for the contract):

* :mod:`connectors.models` - the verticals and their items, with stable ids.
* :mod:`connectors.base` - :class:`Exporter`, :class:`Importer`, cursors, pages, outcomes.
* :mod:`connectors.registry` - :class:`Connector`, :class:`Capabilities`, endpoint parsing.
* :mod:`connectors.converters` - routes between verticals.
* :mod:`connectors.errors` - the exception tree, sorted by what to do.
"""

from .base import Cursor, Exporter, ImportContext, Importer, ItemOutcome, Outcome, Page
from .errors import (
    ConfigError,
    DestinationFull,
    FatalError,
    FerryError,
    ItemError,
    ReauthRequired,
    RetryableError,
    RetryableItemError,
)
from .models import Vertical, stable_id
from .registry import Capabilities, Connector, ConnectorContext, OAuthSpec

__all__ = [
    "Capabilities",
    "ConfigError",
    "Connector",
    "ConnectorContext",
    "Cursor",
    "DestinationFull",
    "Exporter",
    "FatalError",
    "FerryError",
    "ImportContext",
    "Importer",
    "ItemError",
    "ItemOutcome",
    "OAuthSpec",
    "Outcome",
    "Page",
    "ReauthRequired",
    "RetryableError",
    "RetryableItemError",
    "Vertical",
    "stable_id",
]
