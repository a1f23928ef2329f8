"""Uploading one stream to S3 (and S3-compatible stores) atomically, verified by the store's answers.

Why not ``fs.open(path, "wb")``: s3fs buffers up to its block size (50 MiB) per open file, so four
copy threads may hold 200 MB; it sends the parts of a large file one after another; and checking
the result needs a HEAD per file. Here, through the file system's own client and event loop
(``fs._call_s3``, so storage options, credentials and retries are s3fs's):

* **Small files** (up to one part, 8 MiB): one ``PutObject`` with the body, its length, and
  ``ChecksumSHA256`` (the sha256 ferry computes anyway): a store that supports checksums refuses
  a body that does not match, and echoes the checksum, which is compared. The object carries
  user metadata ``sha256`` (so ferry can later tell "already there" without reading it back) and
  ``mtime`` (the source's modification time as Unix seconds, rclone's convention: S3 cannot set
  an object's own time).
* **Large files**: a multipart upload, the source read one part at a time while up to
  ``part_concurrency`` earlier parts are in flight (memory: at most that many parts per copy);
  each part carries its length (and botocore's CRC32, checked by the store); the completion's
  ETag must name as many parts as were sent. Nothing is visible until the upload completes; on
  any failure the upload is aborted, and a process killed mid-upload leaves an incomplete
  upload, invisible, reclaimed by the bucket's lifecycle rule (``AbortIncompleteMultipartUpload``).

A success answer to a request that declared the body's length means the store holds exactly
those bytes: no HEAD afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import IO, Any

from ..errors import RetryableItemError

__all__ = ["S3Uploader", "DEFAULT_PART_SIZE", "DEFAULT_PART_CONCURRENCY", "MTIME_METADATA", "SHA256_METADATA"]

#: Part size of multipart uploads, and the largest file sent as one PUT.
DEFAULT_PART_SIZE = 8 << 20
#: Parts of one file in flight at once (per copy thread).
DEFAULT_PART_CONCURRENCY = 2
MTIME_METADATA = "mtime"
SHA256_METADATA = "sha256"
_MAX_PARTS = 10_000


class S3Uploader:
    """Uploads streams to one s3fs file system.

    Args:
        fs: an ``s3fs.S3FileSystem``.
        part_size: bytes per part (at least 5 MiB, S3's minimum).
        part_concurrency: parts of one file uploading at once.
    """

    def __init__(self, fs: Any, *, part_size: int = DEFAULT_PART_SIZE, part_concurrency: int = DEFAULT_PART_CONCURRENCY):
        self.fs = fs
        self.part_size = max(5 << 20, int(part_size))
        self.part_concurrency = max(1, int(part_concurrency))

    def upload(
        self,
        path: str,
        source: IO[bytes],
        *,
        item_id: str,
        display: str,
        read: Callable[[Callable[[int], bytes], int], bytes],
        check_size: Callable[[int], None],
        on_bytes: Callable[[int], None],
        expected_size: int | None = None,
        mtime: datetime | None = None,
    ) -> tuple[int, str]:
        """Upload ``source`` to ``path`` (``bucket/key``); return (bytes, sha256 hex).

        ``read(source.read, n)`` reads from the source (its failures are the item's);
        ``check_size(total)`` raises before anything becomes visible when the source announced
        another size.

        Raises:
            RetryableItemError: the store's answer does not match what was sent.
            OSError: the store refused (s3fs's translation: PermissionError, FileNotFoundError...).
        """
        bucket, key, _ = self.fs.split_path(path)
        metadata = {MTIME_METADATA: f"{mtime.timestamp():.6f}"} if mtime is not None else {}
        part_size = self._part_size(expected_size)
        hasher = hashlib.sha256()
        first = _read_block(read, source.read, part_size)
        hasher.update(first)
        on_bytes(len(first))
        if len(first) < part_size:
            check_size(len(first))
            digest = hasher.hexdigest()
            self._put(bucket, key, first, digest, metadata, item_id, display)
            return len(first), digest
        return self._multipart(bucket, key, source, first, hasher, part_size, metadata, read, check_size, on_bytes, item_id, display)

    # -- one PUT --------------------------------------------------------------------------

    def _put(self, bucket: str, key: str, body: bytes, digest: str, metadata: dict, item_id: str, display: str) -> None:
        checksum = base64.b64encode(bytes.fromhex(digest)).decode()
        answer = self.fs.call_s3(
            "put_object", Bucket=bucket, Key=key, Body=body, ContentLength=len(body),
            ChecksumSHA256=checksum, Metadata={**metadata, SHA256_METADATA: digest},
        )  # fmt: skip
        echoed = answer.get("ChecksumSHA256")
        if echoed is not None and echoed != checksum:
            raise RetryableItemError(item_id, f"{display}: the store holds other bytes than were sent (sha256 differs)")

    # -- multipart ------------------------------------------------------------------------

    def _part_size(self, expected: int | None) -> int:
        """The part size, grown for huge files so they fit in S3's 10,000 parts."""
        if expected is None or expected <= self.part_size * _MAX_PARTS:
            return self.part_size
        mib = 1 << 20
        return -(-expected // (_MAX_PARTS - 1) // mib) * mib + mib

    def _multipart(self, bucket, key, source, first, hasher, part_size, metadata, read, check_size, on_bytes, item_id, display) -> tuple[int, str]:
        upload_id = self.fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key, Metadata=metadata)["UploadId"]
        in_flight: deque[tuple[int, int, Future]] = deque()
        parts: list[dict] = []
        total = 0
        try:
            block, number = first, 1
            while block:
                while len(in_flight) >= self.part_concurrency:
                    parts.append(self._finished(in_flight.popleft(), item_id, display))
                in_flight.append((number, len(block), self._send_part(bucket, key, upload_id, number, block)))
                total += len(block)
                if number >= _MAX_PARTS:
                    raise RetryableItemError(item_id, f"{display}: more than {_MAX_PARTS} parts; the source is larger than it announced")
                block = _read_block(read, source.read, part_size)
                if block:
                    hasher.update(block)
                    on_bytes(len(block))
                    number += 1
            while in_flight:
                parts.append(self._finished(in_flight.popleft(), item_id, display))
            check_size(total)
            answer = self.fs.call_s3(
                "complete_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
            )  # fmt: skip
        except BaseException:
            for _, _, future in in_flight:
                future.cancel()
            self._abort(bucket, key, upload_id)
            raise
        etag = str(answer.get("ETag", "")).strip('"')
        if "-" in etag and etag.rsplit("-", 1)[1] != str(len(parts)):
            raise RetryableItemError(item_id, f"{display}: the store assembled {etag.rsplit('-', 1)[1]} parts, {len(parts)} were sent")
        return total, hasher.hexdigest()

    def _send_part(self, bucket: str, key: str, upload_id: str, number: int, body: bytes) -> Future:
        coroutine = self.fs._call_s3("upload_part", Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, ContentLength=len(body))
        return asyncio.run_coroutine_threadsafe(coroutine, self.fs.loop)

    @staticmethod
    def _finished(entry: tuple[int, int, Future], item_id: str, display: str) -> tuple[int, str]:
        number, size, future = entry
        answer = future.result()
        etag = answer.get("ETag")
        if not etag:
            raise RetryableItemError(item_id, f"{display}: the store did not confirm part {number} ({size} bytes)")
        return number, etag

    def _abort(self, bucket: str, key: str, upload_id: str) -> None:
        try:
            self.fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception:  # the lifecycle rule reclaims it; the original error matters more
            pass


def _read_block(read: Callable[[Callable[[int], bytes], int], bytes], source_read: Callable[[int], bytes], size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at the end of the stream (short reads are joined)."""
    block = read(source_read, size)
    if not block or len(block) == size:
        return block
    pieces = [block]
    have = len(block)
    while have < size:
        more = read(source_read, size - have)
        if not more:
            break
        pieces.append(more)
        have += len(more)
    return b"".join(pieces)
