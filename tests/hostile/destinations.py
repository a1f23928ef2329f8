"""Hostile destinations for the folder importer: what is already there must survive, and no write
may land outside the destination.

:func:`hostile_destination` builds a source folder and a destination that already holds:

* ``files/diff.txt``: someone's file of another size than the source's ``diff.txt``;
* ``files/same.txt``: someone's file of the *same* size but other bytes (the case that was
  reported "already there" while the item was lost);
* ``files/equal.txt``: exactly the source's bytes (really already there);
* ``files/escape``: a folder that is a symbolic link to a folder outside the destination, where
  the source has a folder of the same name;
* ``files/link.txt``: a symbolic link to a file outside, where the source has ``link.txt``;
* ``files/fifo.txt``: a FIFO where the source has ``fifo.txt`` (never opened: it would hang).

Everything is generated at test time; nothing large is committed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["HostileDestination", "hostile_destination"]


@dataclass
class HostileDestination:
    """What was built, and what a correct transfer leaves behind."""

    source: Path
    destination: Path
    outside: Path
    #: destination files (relative) that must keep their bytes
    untouched: dict[str, bytes] = field(default_factory=dict)
    #: source files (relative to the source) whose bytes must arrive under some name in files/
    delivered: dict[str, bytes] = field(default_factory=dict)
    #: source files that cannot arrive (their folder leads outside): named in the errors
    refused: list[str] = field(default_factory=list)


def hostile_destination(root: Path) -> HostileDestination:
    source, destination, outside = root / "src", root / "out", root / "outside"
    for folder in (source / "escape", destination / "files", outside / "target"):
        folder.mkdir(parents=True)
    made = HostileDestination(source, destination, outside)

    def put(path: Path, data: bytes) -> None:
        path.write_bytes(data)

    mine = {"diff.txt": b"the source's diff.txt, longer", "same.txt": b"SOURCE!!", "equal.txt": b"equal bytes", "link.txt": b"linked name", "fifo.txt": b"fifo name"}
    for name, data in mine.items():
        put(source / name, data)
        made.delivered[name] = data
    put(source / "escape" / "inside.txt", b"must not leave the destination")
    made.refused.append("escape/inside.txt")

    theirs = {"files/diff.txt": b"theirs", "files/same.txt": b"THEIRS!!", "files/equal.txt": b"equal bytes"}
    for rel, data in theirs.items():
        put(destination / rel, data)
        made.untouched[rel] = data
    put(outside / "keep.txt", b"keep me")
    (destination / "files/escape").symlink_to(outside / "target", target_is_directory=True)
    (destination / "files/link.txt").symlink_to(outside / "keep.txt")
    os.mkfifo(destination / "files/fifo.txt")
    return made
