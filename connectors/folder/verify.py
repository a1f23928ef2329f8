"""Re-checking what a folder destination holds against the ledger (``ferry verify``).

Each delivered item's destination id is its path under the root. It must exist; byte items
must have the size that was delivered, and, when the delivery recorded a sha256 (the copy
hashes while it writes), the same hash: the bytes are read back once, streamed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

from ..base import Checked, Delivered, Verdict
from .fs import FolderLocation

__all__ = ["verify_folder"]

_CHUNK = 1024 * 1024


def verify_folder(location: FolderLocation, delivered: Sequence[Delivered]) -> Iterator[Checked]:
    fs = location.fs
    for entry in delivered:
        if not entry.destination_id:
            yield Checked(entry.item_id, Verdict.UNKNOWN, "delivered without a destination path")
            continue
        path = location.path(entry.destination_id)
        shown = location.display(entry.destination_id)
        try:
            info = fs.info(path)
        except FileNotFoundError:
            yield Checked(entry.item_id, Verdict.MISSING, f"{shown} is not there")
            continue
        if info.get("type") == "directory" or not entry.bytes:
            yield Checked(entry.item_id, Verdict.PRESENT)
            continue
        size = info.get("size")
        if size != entry.bytes:
            yield Checked(entry.item_id, Verdict.CHANGED, f"{shown} has {size} bytes, {entry.bytes} were delivered")
            continue
        if entry.checksum and entry.checksum.startswith("sha256:"):
            digest = hashlib.sha256()
            with fs.open(path, "rb") as stream:
                while block := stream.read(_CHUNK):
                    digest.update(block)
            if "sha256:" + digest.hexdigest() != entry.checksum:
                yield Checked(entry.item_id, Verdict.CHANGED, f"{shown} has other bytes than were delivered (sha256 differs)")
                continue
        yield Checked(entry.item_id, Verdict.PRESENT)
