"""Is a file at the destination the same content as an item? Hashes of both sides.

Why: "already there" must mean the same bytes, not just the same name or size (a foreign
``notes.txt`` of the same length is someone else's data, and skipping the item would lose it;
overwriting would lose theirs). Comparing costs a read of each side, so the importer only asks
when a name is taken by a file of the right size whose content no record vouches for.

The destination's hash comes, cheapest first, from: the sha256 ferry stored with an object it
uploaded in one PUT (S3 user metadata ``sha256``, see :mod:`.s3upload`), else reading the
file back.
"""

from __future__ import annotations

import hashlib
from typing import IO

from ..checksums import Checksum
from .atomic import WriteResult, guarded_read
from .fs import FolderLocation
from .s3upload import SHA256_METADATA

__all__ = ["stored_sha256", "stream_sha256", "recorded_sha256"]

_BLOCK = 1 << 20


def stored_sha256(location: FolderLocation, relative: str) -> str:
    """The sha256 (hex) of the file at ``relative``; raises OSError (FileNotFoundError, ...) as the storage does."""
    path = location.path(relative)
    fs = location.fs
    if location.local:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    recorded = recorded_sha256(fs, path)
    if recorded is not None:
        return recorded
    digest = hashlib.sha256()
    with fs.open(path, "rb", block_size=8 << 20) as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def stream_sha256(source: IO[bytes], item_id: str, display: str) -> WriteResult:
    """Size and sha256 of a source stream, read to its end (failures are the item's, retryable)."""
    digest = hashlib.sha256()
    total = 0
    while True:
        block = guarded_read(source.read, _BLOCK, item_id, display)
        if not block:
            return WriteResult(total, Checksum.sha256(digest.hexdigest()))
        digest.update(block)
        total += len(block)


def recorded_sha256(fs, path: str) -> str | None:
    """The sha256 ferry stored with an S3 object (one HEAD), or None."""
    if not hasattr(fs, "split_path") or not hasattr(fs, "call_s3"):
        return None
    bucket, key, _ = fs.split_path(path)
    head = fs.call_s3("head_object", Bucket=bucket, Key=key)
    metadata = {str(k).lower(): v for k, v in (head.get("Metadata") or {}).items()}
    recorded = metadata.get(SHA256_METADATA)
    return recorded if isinstance(recorded, str) and len(recorded) == 64 else None
