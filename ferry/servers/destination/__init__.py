"""The reference destination (``ferry serve``): an OAuth authorization server and the Generic Importer API."""
