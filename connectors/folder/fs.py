"""Opening an fsspec URL as a folder, and translating storage errors at the edge.

Why a module of its own: both roles (exporter and importer) open a URL the same way and must
speak ferry's error language, not fsspec's or botocore's. The rules:

* an unknown protocol (``nosuch://``) or one whose package is missing (``gs://`` without gcsfs)
  is the user's input: :class:`~connectors.errors.ConfigError` naming the URL and listing the
  protocols fsspec knows;
* permission denied or a read-only file system at the destination is systemic:
  :class:`~connectors.errors.FatalError` naming the path (stops the job, resumable);
* no space left: :class:`~connectors.errors.DestinationFull`.

URLs are shown without user info (``s3://key:secret@bucket`` prints as ``s3://bucket``), and
storage options (keys, tokens) never appear in a message.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ..errors import ConfigError, DestinationFull, FatalError

__all__ = [
    "FolderLocation",
    "open_folder",
    "redact_url",
    "translate_write_errors",
    "is_local",
    "known_protocols",
    "escapes_root",
]

_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@")
_READ_ONLY_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


def redact_url(url: str) -> str:
    """Return ``url`` without ``user:password@`` so it can be shown in messages and logs."""
    return _USERINFO.sub(r"\1", url)


def known_protocols() -> list[str]:
    """Protocols fsspec can resolve (some need an extra package, e.g. gcsfs for ``gs://``)."""
    return sorted(fsspec.available_protocols())


@dataclass(frozen=True)
class FolderLocation:
    """An opened folder: the file system, the root path inside it, and the URL as shown to people.

    Attributes:
        fs: the fsspec file system instance.
        root: the root path as the file system spells it (``bucket/prefix``, ``/home/me/out``).
        url: the URL the user gave, without user info (for messages).
    """

    fs: Any
    root: str
    url: str

    def path(self, relative: str) -> str:
        """Return the file system path of ``relative`` (a '/'-separated path under the root)."""
        relative = relative.strip("/")
        return f"{self.root.rstrip('/')}/{relative}" if relative else self.root

    def display(self, relative: str = "") -> str:
        """Return a human name of ``relative`` under the root: the URL plus the relative path."""
        relative = relative.strip("/")
        return f"{self.url.rstrip('/')}/{relative}" if relative else self.url

    @property
    def local(self) -> bool:
        return is_local(self.fs)


def is_local(fs: Any) -> bool:
    """True for the local file system, where the fast paths (``os.replace``, plain files) apply."""
    return isinstance(fs, LocalFileSystem)


def open_folder(url: str, storage_options: Mapping[str, Any] | None = None) -> FolderLocation:
    """Resolve ``url`` (a local path, ``file://``, ``s3://``, ``memory://``, ...) to a folder.

    Nothing is read or written yet: constructing an S3 file system makes no request.

    Raises:
        ConfigError: the protocol is unknown, its package is missing, or the URL is empty.
    """
    shown = redact_url(url)
    if not url or not url.strip():
        raise ConfigError("empty folder location: give a path or an fsspec URL such as s3://bucket/prefix")
    target = url if "://" in url else os.path.expanduser(url)
    try:
        fs, root = fsspec.core.url_to_fs(target, **dict(storage_options or {}))
    except ValueError as exc:
        if "Protocol not known" not in str(exc):
            raise ConfigError(f"cannot open {shown!r}: {exc}") from None
        protocol = url.split("://", 1)[0]
        raise ConfigError(
            f"unknown storage protocol {protocol!r} in {shown!r}; known protocols: {', '.join(known_protocols())}"
        ) from None
    except ImportError as exc:
        protocol = url.split("://", 1)[0]
        raise ConfigError(f"storage protocol {protocol!r} in {shown!r} needs an extra package: {exc}") from None
    except TypeError as exc:  # an option the file system does not take; never echo the values
        raise ConfigError(f"bad storage options for {shown!r}: {type(exc).__name__}") from None
    root = root.rstrip("/") or root
    return FolderLocation(fs=fs, root=root, url=shown)


@contextmanager
def translate_write_errors(display: str) -> Iterator[None]:
    """Turn destination-wide OS errors into ferry's systemic errors, naming ``display``.

    PermissionError, EROFS/EACCES/EPERM, a file where a folder must go (ENOTDIR, EEXIST) ->
    FatalError; ENOSPC/EDQUOT -> DestinationFull. Other
    errors pass through for the caller to judge per item.
    """
    try:
        yield
    except PermissionError as exc:
        raise FatalError(f"cannot write to {display}: permission denied") from exc
    except OSError as exc:
        if exc.errno in _READ_ONLY_ERRNOS:
            raise FatalError(f"cannot write to {display}: {_reason(exc)}") from exc
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DestinationFull(f"no space left writing {display}") from exc
        if exc.errno in (errno.ENOTDIR, errno.EEXIST):  # a file where a folder must go
            raise FatalError(f"cannot write to {display}: a file is in the way ({exc.filename or display})") from exc
        raise


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def escapes_root(location: FolderLocation, relative: str) -> str | None:
    """Where ``relative`` really leads when that is outside the root, else None.

    Why: a folder of the destination may be a symbolic link to elsewhere (``files/docs ->
    /etc``); creating or writing through it would put data outside the destination the user
    named. The root itself may be a link (a destination on another disk): it is resolved, and
    everything below it must resolve inside it. Object stores have no links: always None.
    """
    if not location.local:
        return None
    root = os.path.realpath(location.root)
    target = os.path.realpath(location.path(relative))
    if target == root or target.startswith(root.rstrip(os.sep) + os.sep):
        return None
    return target
