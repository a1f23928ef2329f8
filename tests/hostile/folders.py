"""Hostile folders for the folder source and for Meta exports given as a folder.

Everything is made without root where it can be: a FIFO (``mkfifo``), a unix socket (bound, so
it exists as a socket file), a symlink out of the folder and a directory named like a photo.
Device files need ``os.mknod`` as root; :func:`device_file` returns None elsewhere and the tests
that need one skip.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .archives import JPEG

__all__ = ["HostileFolder", "special_files", "device_file", "hostile_meta_folder"]


@dataclass
class HostileFolder:
    """What was built: the root, the names a reader must report (name -> fragment) and good files."""

    root: Path
    expect: dict[str, str] = field(default_factory=dict)
    good: list[str] = field(default_factory=list)
    sockets: list[socket.socket] = field(default_factory=list)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def device_file(path: Path) -> bool:
    """Make a character device like /dev/null at ``path``; False when not root."""
    if os.geteuid() != 0:
        return False
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, OSError):
        return False
    return True


def _unix_socket(path: Path) -> socket.socket | None:
    if len(str(path)) > 100:  # AF_UNIX paths are short
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    return sock


def special_files(root: Path, outside: Path) -> HostileFolder:
    """A photo folder with good JPEGs among a FIFO, a socket, a device (as root), symlinks and a
    directory named like a photo. ``outside`` is a folder beside it that must never be read."""
    trip = root / "Trip"
    trip.mkdir(parents=True)
    made = HostileFolder(root)
    for name in ("a.jpg", "b.jpg"):
        (trip / name).write_bytes(JPEG)
        made.good.append(f"Trip/{name}")
    os.mkfifo(trip / "fifo.jpg")
    made.expect["fifo.jpg"] = "FIFO"
    sock = _unix_socket(trip / "sock.jpg")
    if sock is not None:
        made.sockets.append(sock)
        made.expect["sock.jpg"] = "socket"
    if device_file(trip / "null.jpg"):
        made.expect["null.jpg"] = "character device"
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.jpg").write_bytes(b"\xff\xd8 secret bytes that must not leave")
    (trip / "escape.jpg").symlink_to(outside / "secret.jpg")
    made.expect["escape.jpg"] = "outside the source folder"
    (trip / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    made.expect["dangling.jpg"] = "broken symbolic link"
    (trip / "fifo_link.jpg").symlink_to(trip / "fifo.jpg")
    made.expect["fifo_link.jpg"] = "symbolic link to a FIFO"
    (trip / "album.jpg").mkdir()
    (trip / "album.jpg" / "inner.jpg").write_bytes(JPEG)
    made.good.append("Trip/album.jpg/inner.jpg")
    made.expect["album.jpg"] = "directory named like a photo"
    return made


def hostile_meta_folder(root: Path) -> HostileFolder:
    """A Meta export as a folder whose album lists a FIFO, a directory and a good photo."""
    media = root / "your_facebook_activity/posts/media/Trip_1"
    album = root / "your_facebook_activity/posts/album"
    media.mkdir(parents=True)
    album.mkdir(parents=True)
    (media / "good.jpg").write_bytes(JPEG)
    os.mkfifo(media / "pipe.jpg")
    (media / "folder.jpg").mkdir()
    uris = [f"your_facebook_activity/posts/media/Trip_1/{n}" for n in ("good.jpg", "pipe.jpg", "folder.jpg")]
    (album / "0.json").write_text(json.dumps({"name": "Trip", "photos": [{"uri": u, "creation_timestamp": 1_600_000_000} for u in uris]}))
    os.mkfifo(album / "1.json")  # a JSON member that is a FIFO: must not be opened
    made = HostileFolder(root, {"pipe.jpg": "FIFO", "folder.jpg": "directory", "album/1.json": "FIFO"}, ["good.jpg"])
    return made
