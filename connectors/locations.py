"""Cheap checks of local locations, run before a job exists (the one home for them).

Why: a typo in a path must be answered at once with the path ("no such file: ~/fb.zip"), not
after a job was created and Prefect started. Remote URLs (``s3://``) are not checked here: that
needs the network, and ``ferry check`` does it.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError

__all__ = ["local_path", "check_local"]


def local_path(location: str) -> Path | None:
    """The local path a location names, or None for a URL of another scheme."""
    if location.startswith("file://"):
        location = location[len("file://") :]
    elif "://" in location:
        return None
    return Path(location).expanduser()


def check_local(location: str, role: str) -> None:
    """A source must exist; a destination may not exist yet but must not be a file."""
    path = local_path(location)
    if path is None:
        return
    if role == "source":
        if not path.exists():
            raise ConfigError(f"no such file or folder: {location}")
        if not (path.is_file() or path.is_dir()):
            raise ConfigError(f"{location} is neither a file nor a folder")
    elif path.exists() and not path.is_dir():
        raise ConfigError(f"the destination {location} is a file, not a folder")
