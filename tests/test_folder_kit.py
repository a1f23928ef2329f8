"""The connector kit run against the folder connector, both roles, on local, memory:// and S3."""

from __future__ import annotations

import uuid

import fsspec
import pytest

from connectors.folder.factory import make_exporter, make_importer
from connectors.models import Vertical
from connectors.registry import ConnectorContext
from connectors.testing import ExporterKit, ImporterKit

# A small tree with media in nested albums, non-media files, an empty folder and a root photo.
SOURCE_TREE = {
    "a.txt": b"plain text\n",
    "Album One/IMG_1.jpg": b"\xff\xd8" + b"1" * 3000,
    "Album One/IMG_2.png": b"\x89PNG" + b"2" * 500,
    "Album One/clip.mp4": b"v" * 70_000,
    "Album One/notes.txt": b"not media",
    "Album One/Nested/x.heic": b"h" * 10,
    "Videos/v.mov": b"m" * 123,
    "z.jpg": b"z" * 42,
}


def write_tree(url: str, storage_options: dict | None = None, tree: dict[str, bytes] = SOURCE_TREE) -> None:
    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    for rel, data in tree.items():
        path = f"{root}/{rel}"
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(path, data)
    fs.makedirs(f"{root}/Empty", exist_ok=True)


def snapshot(url: str, storage_options: dict | None = None):
    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    fs.invalidate_cache()
    if not fs.exists(root):
        return []
    found = fs.find(root, detail=True)
    prefix = root.rstrip("/") + "/"
    return sorted((name.removeprefix(prefix).removeprefix(prefix.lstrip("/")), info["size"]) for name, info in found.items())


@pytest.fixture
def memory_url():
    url = f"memory://kit-{uuid.uuid4().hex[:10]}"
    yield url
    fs, root = fsspec.core.url_to_fs(url)
    if fs.exists(root):
        fs.rm(root, recursive=True)


ALL_EXPORTS = (Vertical.BLOBS, Vertical.PHOTOS, Vertical.VIDEOS, Vertical.MEDIA)
ALL_IMPORTS = (
    Vertical.PHOTOS, Vertical.VIDEOS, Vertical.MEDIA, Vertical.SOCIAL_POSTS, Vertical.CALENDAR, Vertical.BLOBS,
)  # fmt: skip


def _exporter_factory(url, options=None):
    ctx = ConnectorContext(location=url, options={"page_size": 2}, storage_options=options or {})
    return lambda: make_exporter(ctx)


def _importer_factory(url, options=None):
    return lambda: make_importer(ConnectorContext(location=url, storage_options=options or {}))


class _FolderPlacement:
    def check_child_placement(self, parent_destination_id, child_destination_id):
        if child_destination_id.startswith("videos/"):  # an album's videos: the album's twin folder
            parent_destination_id = "videos/" + parent_destination_id.split("/", 1)[1]
        if parent_destination_id.endswith(".ics"):  # a calendar file: <file>#<event uid>
            assert child_destination_id.startswith(parent_destination_id + "#")
            return
        assert child_destination_id.startswith(parent_destination_id + "/")


class TestFolderExporterLocal(ExporterKit):
    verticals = ALL_EXPORTS

    @pytest.fixture
    def exporter_factory(self, tmp_path):
        write_tree(str(tmp_path))
        return _exporter_factory(str(tmp_path))


class TestFolderExporterMemory(ExporterKit):
    verticals = ALL_EXPORTS

    @pytest.fixture
    def exporter_factory(self, memory_url):
        write_tree(memory_url)
        return _exporter_factory(memory_url)


class TestFolderExporterS3(ExporterKit):
    verticals = (Vertical.MEDIA,)  # the walk is shared by all verticals; keep the S3 run short

    @pytest.fixture
    def exporter_factory(self, s3_bucket):
        bucket, options = s3_bucket
        write_tree(f"s3://{bucket}/src", options)
        return _exporter_factory(f"s3://{bucket}/src", options)


class TestFolderImporterLocal(_FolderPlacement, ImporterKit):
    verticals = ALL_IMPORTS

    @pytest.fixture
    def importer_factory(self, tmp_path):
        return _importer_factory(str(tmp_path / "out"))

    @pytest.fixture
    def destination_snapshot(self, tmp_path):
        return lambda: snapshot(str(tmp_path / "out"))


class TestFolderImporterMemory(_FolderPlacement, ImporterKit):
    verticals = ALL_IMPORTS

    @pytest.fixture
    def importer_factory(self, memory_url):
        return _importer_factory(memory_url)

    @pytest.fixture
    def destination_snapshot(self, memory_url):
        return lambda: snapshot(memory_url)


class TestFolderImporterS3(_FolderPlacement, ImporterKit):
    verticals = (Vertical.PHOTOS, Vertical.BLOBS)  # byte paths on S3; documents share them

    @pytest.fixture
    def importer_factory(self, s3_bucket):
        bucket, options = s3_bucket
        return _importer_factory(f"s3://{bucket}/out", options)

    @pytest.fixture
    def destination_snapshot(self, s3_bucket):
        bucket, options = s3_bucket
        return lambda: snapshot(f"s3://{bucket}/out", options)
