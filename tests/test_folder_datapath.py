"""The data path: local copies by the kernel, S3 uploads verified by the store's answers, times kept."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import fsspec
import pytest
import xxhash

from connectors.base import Outcome
from connectors.checksums import Checksum, HashAlgorithm
from connectors.folder.factory import make_importer
from connectors.models import File, Photo
from connectors.registry import ConnectorContext
from connectors.testing import KitSource, payload

T0 = datetime(2019, 5, 17, 8, 30, 12, 345678, tzinfo=timezone.utc)


class _FileSource(KitSource):
    """Serves bytes from real local files (what a folder source hands over): the kernel's path."""

    def __init__(self, root):
        super().__init__()
        self.root = root

    def open_bytes(self, item):
        self.opened.append(item.ref)
        path = self.root / item.ref.rsplit("/", 1)[1]
        if not path.exists():
            path.write_bytes(payload(item.ref))
        return open(path, "rb")


def checksum(algorithm: HashAlgorithm, data: bytes) -> Checksum:
    hasher = xxhash.xxh3_128() if algorithm == HashAlgorithm.XXH3_128 else hashlib.sha256()
    hasher.update(data)
    return Checksum(algorithm, hasher.hexdigest())


def importer(url, **options):
    storage = options.pop("storage", {})
    return make_importer(ConnectorContext(location=url, options=options, storage_options=storage))


@pytest.mark.parametrize("source_kind", ["file", "stream"])
def test_local_copies_are_whole_hashed_and_keep_their_times(tmp_path, source_kind):
    big = File(id="big", folder="/", name="big.bin", size=9_000_123, ref="kit/9000123/big.bin", modified=T0)
    small = File(id="small", folder="/", name="small.bin", size=20_000, ref="kit/20000/small.bin", modified=T0)
    photo = Photo(id="p", size=3000, ref="kit/3000/p.jpg", file_name="p.jpg", taken_time=T0)
    (tmp_path / "src").mkdir()
    source = _FileSource(tmp_path / "src") if source_kind == "file" else KitSource()
    out = tmp_path / "out"
    outcomes = {o.item_id: o for o in importer(str(out), chunk_size=str(4 << 20)).import_page([big, small, photo], source.context())}
    # blobs are checked by ferry alone (XXH3); a photo's sidecar records its sha256
    expected = ((big, "files/big.bin", HashAlgorithm.XXH3_128), (small, "files/small.bin", HashAlgorithm.XXH3_128), (photo, "photos/p.jpg", HashAlgorithm.SHA256))
    for item, rel, algorithm in expected:
        landed = (out / rel).read_bytes()
        assert landed == payload(item.ref)
        assert outcomes[item.id].status == Outcome.IMPORTED and outcomes[item.id].checksum == checksum(algorithm, landed)
        assert (out / rel).stat().st_mtime_ns == 1558081812345678000  # a file's time; a photo's taken time
    assert not [p for p in out.rglob("*") if ".partial-" in p.name]


def test_fsync_option_writes_the_same_files(tmp_path):
    item = File(id="f", folder="/", name="f.bin", size=5000, ref="kit/5000/f.bin", modified=T0)
    (outcome,) = importer(str(tmp_path / "out"), fsync="true").import_page([item], KitSource().context())
    assert outcome.status == Outcome.IMPORTED and (tmp_path / "out/files/f.bin").read_bytes() == payload(item.ref)


def test_s3_uploads_carry_the_hash_and_time_and_large_files_go_in_parts(s3_bucket):
    bucket, options = s3_bucket
    small = File(id="s", folder="/", name="s.bin", size=1000, ref="kit/1000/s.bin", modified=T0)
    large = File(id="l", folder="/", name="l.bin", size=17 << 20, ref=f"kit/{17 << 20}/l.bin", modified=T0)
    url = f"s3://{bucket}/out"
    outcomes = {o.item_id: o for o in importer(url, storage=options).import_page([small, large], KitSource().context())}
    assert {o.status for o in outcomes.values()} == {Outcome.IMPORTED}
    fs, _ = fsspec.core.url_to_fs(url, **options)
    for item in (small, large):
        key = f"out/files/{item.name}"
        head = fs.call_s3("head_object", Bucket=bucket, Key=key)
        data = fs.cat_file(f"{bucket}/{key}")
        assert data == payload(item.ref) and outcomes[item.id].checksum == Checksum.sha256(hashlib.sha256(data).hexdigest())
        assert float(head["Metadata"]["mtime"]) == pytest.approx(T0.timestamp())
    assert fs.call_s3("head_object", Bucket=bucket, Key="out/files/s.bin")["Metadata"]["sha256"] == hashlib.sha256(payload(small.ref)).hexdigest()
    assert fs.call_s3("head_object", Bucket=bucket, Key="out/files/l.bin")["ETag"].strip('"').endswith("-3")  # 8 + 8 + 1 MiB
    assert not fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads")


def test_s3_already_there_is_told_by_the_stored_hash(s3_bucket):
    bucket, options = s3_bucket
    item = File(id="s", folder="/", name="s.bin", size=1000, ref="kit/1000/s.bin")
    url = f"s3://{bucket}/out"
    list(importer(url, storage=options).import_page([item], KitSource().context()))
    (again,) = importer(url, storage=options).import_page([item], KitSource().context())
    assert again.status == Outcome.SKIPPED and again.destination_id == "files/s.bin"
    fs, _ = fsspec.core.url_to_fs(url, **options)
    fs.pipe_file(f"{bucket}/out/files/s.bin", b"x" * 1000)  # someone's object of the same size
    (third,) = importer(url, storage=options).import_page([item], KitSource().context())
    assert third.status == Outcome.IMPORTED and third.destination_id == "files/s (s).bin"
    assert fs.cat_file(f"{bucket}/out/files/s.bin") == b"x" * 1000
