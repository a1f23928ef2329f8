"""ferry: move a person's data between services, once or on a schedule."""

__version__ = "0.1.0"
