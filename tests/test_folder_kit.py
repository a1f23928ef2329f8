"""The connector kit run against the folder connector, both roles, on local disk, memory:// and S3 (moto)."""

from __future__ import annotations

import uuid

import fsspec
import pytest

from connectors.folder import CONNECTOR
from connectors.models import Vertical
from connectors.registry import ConnectorContext
from connectors.testing import ImportSetup, kit_for

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


def folder_at(url: str, options: dict | None = None, *, tree: bool = False) -> ImportSetup:
    """A folder (written with SOURCE_TREE when ``tree``) as the kit's source or destination."""
    if tree:
        write_tree(url, options)
    placement = lambda parent, child: _under(parent, child)  # noqa: E731
    return ImportSetup(ConnectorContext(location=url, options={"page_size": 2}, storage_options=options or {}),
                       snapshot=lambda: snapshot(url, options), placement=placement)  # fmt: skip


def _under(parent: str, child: str) -> None:
    if child.startswith("videos/"):  # an album's videos: the album's twin folder
        parent = "videos/" + parent.split("/", 1)[1]
    if parent.endswith(".ics"):  # a calendar file: <file>#<event uid>
        assert child.startswith(parent + "#"), f"{child} is not in {parent}"
        return
    assert child.startswith(parent + "/"), f"{child} is not in {parent}"


def local_source(tmp_path):
    return folder_at(str(tmp_path / "src"), tree=True).context


def memory_source(memory_url):
    return folder_at(memory_url, tree=True).context


def s3_source(s3_bucket):
    bucket, options = s3_bucket
    return folder_at(f"s3://{bucket}/src", options, tree=True).context


TestFolderLocalKit = kit_for(CONNECTOR, source=local_source, destination=lambda tmp_path: folder_at(str(tmp_path / "out")))
TestFolderMemoryKit = kit_for(CONNECTOR, source=memory_source, destination=lambda memory_url: folder_at(memory_url + "-out"))
TestFolderS3Kit = pytest.mark.stack(kit_for(  # moto (stack); the walk and the documents are shared by all verticals: keep the S3 run to the byte paths
    CONNECTOR, source=s3_source, destination=lambda s3_bucket: folder_at(f"s3://{s3_bucket[0]}/out", s3_bucket[1]),
    export_verticals=(Vertical.MEDIA,), import_verticals=(Vertical.PHOTOS, Vertical.BLOBS),
))  # fmt: skip
