"""A tiny in-test connector pair: deterministic photos in albums -> files in a local folder.

Used to test the flow machinery without depending on the real connectors.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from connectors import Capabilities, Connector, Cursor, Exporter, Importer, ItemOutcome, Page, Vertical, stable_id
from connectors.models import MediaAlbum, Photo


class ToyCursor(Cursor):
    offset: int


class ToyExporter(Exporter):
    cursor_model = ToyCursor

    def __init__(self, count: int, page_size: int, fail_ids=()):
        self.count, self.page_size, self.fail_ids = count, page_size, set(fail_ids)

    def items(self):
        albums = [MediaAlbum(id=stable_id("toy", "album", a), name=f"Album {a}") for a in range(2)]
        photos = [
            Photo(id=stable_id("toy", "photo", i), album_id=albums[i % 2].id, title=f"p{i}.jpg",
                  mime_type="image/jpeg", size=1000 + i, ref=str(i), file_name=f"p{i}.jpg")
            for i in range(self.count)
        ]
        return albums + photos

    def list_page(self, vertical, cursor):
        items = self.items()
        start = cursor.offset if cursor else 0
        end = min(start + self.page_size, len(items))
        nxt = ToyCursor(offset=end) if end < len(items) else None
        return Page(items=tuple(items[start:end]), next=nxt, total_hint=len(items))

    def open_bytes(self, item):
        i = int(item.ref)
        if i in self.fail_ids:
            from connectors.errors import ItemError
            raise ItemError(item.id, f"missing file {item.file_name}")
        return io.BytesIO(bytes([i % 256]) * (1000 + i))


class ToyImporter(Importer):
    def __init__(self, root: str):
        self.root = Path(root)

    def import_page(self, items, ctx):
        for item in items:
            if item.kind == "album":
                (self.root / item.name).mkdir(parents=True, exist_ok=True)
                yield ItemOutcome.imported(item.id, item.name)
                continue
            folder = ctx.parents.get(item.album_id, "")
            target = self.root / folder / item.file_name
            if target.exists() and target.stat().st_size == item.size:
                yield ItemOutcome.skipped(item.id, str(target))
                continue
            try:
                with ctx.open_bytes(item) as stream:
                    data = stream.read()
            except Exception as exc:
                yield ItemOutcome.failed(item.id, str(exc))
                continue
            tmp = target.with_suffix(".partial")
            tmp.write_bytes(data)
            os.replace(tmp, target)
            ctx.progress.advance(bytes=len(data))
            yield ItemOutcome.imported(item.id, str(target), len(data))


def make_toy(count=10, page_size=4, fail_ids=()):
    return Connector(
        name="toy",
        title="Toy",
        capabilities=Capabilities(exports=frozenset({Vertical.PHOTOS}), imports=frozenset({Vertical.PHOTOS})),
        make_exporter=lambda ctx: ToyExporter(int(ctx.options.get("count", count)), int(ctx.options.get("toy_page", page_size)), fail_ids),
        make_importer=lambda ctx: ToyImporter(ctx.location),
    )
