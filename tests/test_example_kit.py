"""The example connector (connectors/example/) runs the whole kit: one line, from its declaration."""

from __future__ import annotations

import time
from pathlib import Path

from connectors.example import CONNECTOR
from connectors.registry import ConnectorContext
from connectors.testing import ExportSetup, ImportSetup, kit_for


def changed_ns(path: Path) -> int:
    info = path.stat()
    return max(info.st_mtime_ns, info.st_ctime_ns)


def after_the_clock_ticks(than: int, folder: Path) -> None:
    """Return once a file written now gets a change time above ``than`` (file system clocks are
    coarse: files written in one tick share a time). Polls; never asserts on elapsed time."""
    probe = folder / ".clock-probe"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        probe.write_bytes(b"x")
        if changed_ns(probe) > than:
            probe.unlink()
            return
        time.sleep(0.002)
    raise AssertionError("the file system clock did not advance")


def write_photo(path: Path, data: bytes) -> None:
    """Write a photo that is strictly newer than every photo already there."""
    newest = max((changed_ns(p) for p in path.parent.parent.rglob("*.*") if p.is_file()), default=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    after_the_clock_ticks(newest, path.parent.parent)
    path.write_bytes(data)


def shoebox_source(tmp_path) -> ExportSetup:
    root = tmp_path / "shoebox"
    for album, names in {"Beach": ["a.jpg", "b.png", "c.jpg"], "Snow": ["d.jpg", "e.heic"]}.items():
        for n, name in enumerate(names):
            (root / album).mkdir(parents=True, exist_ok=True)
            (root / album / name).write_bytes(name.encode() * (100 + n))
    (root / "Beach" / "notes.txt").write_text("not a photo")
    write_photo(root / "Snow" / "last.jpg", b"the newest photo")  # the bookmark is its change time
    return ExportSetup(
        ConnectorContext(location=str(root), options={"page_size": 3}),
        grow=lambda: write_photo(root / "Snow" / "f.jpg", b"new photo"),
    )


def shoebox_destination(tmp_path) -> ImportSetup:
    root = tmp_path / "out"
    snapshot = lambda: sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*"))  # noqa: E731
    placement = lambda parent, child: child.startswith(parent + "/")  # noqa: E731
    return ImportSetup(ConnectorContext(location=str(root)), snapshot=snapshot, placement=placement)


TestExampleKit = kit_for(CONNECTOR, source=shoebox_source, destination=shoebox_destination)
