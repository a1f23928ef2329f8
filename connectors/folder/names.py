"""The name helpers moved to :mod:`connectors.names` (one sanitiser for every connector)."""

from ..names import dated_name, name_candidates, safe_path, safe_segment

__all__ = ["safe_segment", "safe_path", "name_candidates", "dated_name"]
