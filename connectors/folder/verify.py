"""Re-checking what a folder destination holds against the ledger (``ferry verify``).

Each delivered item's destination id is its path under the root. It must exist; byte items
must have the size that was delivered, and, when the delivery recorded a checksum (the copy
hashes while it writes), the same hash in the same algorithm (sha256, or XXH3 for local
copies: :mod:`connectors.checksums`): the bytes are read back once, streamed, unless the
store keeps the hash ferry recorded when it uploaded the object (S3 metadata ``sha256``, written
with the object by ferry's own PUT): then one HEAD answers. An event must
still be in its ``.ics`` file (its UID; a calendar file holding many events is read once).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..base import Checked, Delivered, Verdict
from ..checksums import HashAlgorithm
from .fs import FolderLocation
from .calendars import split_event_destination
from .ics import event_uids
from .sameness import recorded_sha256

__all__ = ["verify_folder"]

_CHUNK = 1024 * 1024
_MAX_ICS = 64 << 20


def verify_folder(location: FolderLocation, delivered: Sequence[Delivered]) -> Iterator[Checked]:
    fs = location.fs
    uids: dict[str, set[str]] = {}  # calendar file -> the UIDs it holds
    for entry in delivered:
        if not entry.destination_id:
            yield Checked(entry.item_id, Verdict.UNKNOWN, "delivered without a destination path")
            continue
        calendar_file = split_event_destination(entry.destination_id, entry.item_id) if entry.kind == "event" else None
        where = calendar_file or entry.destination_id
        path = location.path(where)
        shown = location.display(where)
        try:
            info = fs.info(path)
        except FileNotFoundError:
            yield Checked(entry.item_id, Verdict.MISSING, f"{shown} is not there")
            continue
        if entry.kind == "event" and where.endswith(".ics") and info.get("type") != "directory":
            if path not in uids:
                with fs.open(path, "rb") as stream:
                    uids[path] = event_uids(stream.read(_MAX_ICS))
            if entry.item_id not in uids[path]:
                yield Checked(entry.item_id, Verdict.MISSING, f"{shown} no longer holds this event (UID {entry.item_id})")
                continue
            yield Checked(entry.item_id, Verdict.PRESENT)
            continue
        if info.get("type") == "directory" or not entry.bytes:
            yield Checked(entry.item_id, Verdict.PRESENT)
            continue
        size = info.get("size")
        if size != entry.bytes:
            yield Checked(entry.item_id, Verdict.CHANGED, f"{shown} has {size} bytes, {entry.bytes} were delivered")
            continue
        checksum = entry.checksum
        if checksum:
            sha256 = checksum.algorithm == HashAlgorithm.SHA256
            if sha256 and not location.local and recorded_sha256(fs, path) == checksum.digest:
                yield Checked(entry.item_id, Verdict.PRESENT)
                continue
            digest = checksum.algorithm.new()
            with fs.open(path, "rb") as stream:
                while block := stream.read(_CHUNK):
                    digest.update(block)
            if digest.hexdigest() != checksum.digest:
                yield Checked(entry.item_id, Verdict.CHANGED, f"{shown} has other bytes than were delivered ({checksum.algorithm.value} differs)")
                continue
        yield Checked(entry.item_id, Verdict.PRESENT)
