"""What a destination holds, as a hash: which algorithm, and its digest.

Why a type of its own: ferry hashes every byte it writes and keeps the hash in the ledger, so
``ferry verify`` can tell a changed file from an intact one. Which hash depends on what it is
for, and the ledger must say which one it kept, or a later check would hash with the wrong one:

* ``SHA256``: a hash others can check. S3 checks it on upload (``ChecksumSHA256``) and keeps it
  in the object's metadata; media sidecars record it; the Generic Importer's lookup answers it.
  About 1.5 GB/s on one core (with SHA extensions), several times slower than the kernel copies
  a local file.
* ``XXH3_128``: a local file copied to a local folder is checked only by ferry itself (against
  what landed, and by ``ferry verify``). xxHash's XXH3 (128 bits) detects corruption as
  reliably as that needs, at over 20 GB/s, so the hash no longer sets the pace of a local copy.
  It is not a cryptographic hash: never use it where someone else's bytes must be proved equal
  to ours against a deliberate collision.

The ledger stores the algorithm in a column of its own next to the digest (``checksum_algorithm``
and ``checksum``); rows written before the algorithm was recorded hold sha256 (the migration
that added the column says so).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any

import xxhash

__all__ = ["Checksum", "HashAlgorithm"]


class HashAlgorithm(enum.StrEnum):
    """The hash of a :class:`Checksum` (the value is what the ledger stores)."""

    SHA256 = "sha256"
    XXH3_128 = "xxh3-128"

    def new(self) -> Any:
        """A fresh hasher (``update`` / ``hexdigest``, like hashlib's)."""
        if self is HashAlgorithm.XXH3_128:
            return xxhash.xxh3_128()
        return hashlib.sha256()


@dataclass(frozen=True)
class Checksum:
    """A digest (lower-case hex) and the algorithm that made it."""

    algorithm: HashAlgorithm
    digest: str

    @classmethod
    def sha256(cls, digest: str) -> "Checksum":
        return cls(HashAlgorithm.SHA256, digest)

    def __str__(self) -> str:  # for people: "sha256 e3b0c442..."
        return f"{self.algorithm.value} {self.digest}"
