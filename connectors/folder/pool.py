"""The ordered copy pool moved to :mod:`connectors.pool` (the Generic Importer uses it too)."""

from ..pool import Abandoned, OrderedPool

__all__ = ["OrderedPool", "Abandoned"]
