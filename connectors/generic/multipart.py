"""The ``multipart/related`` body DTP sends for Photo, Video and File items, streamed.

Layout (SPEC §3.3, okhttp's ``MultipartBody``): exactly two parts, no preamble or epilogue, each
part with only ``Content-Type`` and ``Content-Length``::

    --B CRLF Content-Type: application/json CRLF Content-Length: n1 CRLF CRLF <json> CRLF
    --B CRLF Content-Type: <mime> CRLF Content-Length: n2 CRLF CRLF <bytes> CRLF --B-- CRLF

The total length is known before the first byte is sent (DTP never uses chunked encoding), so the
file's size must be known: from ``item.size`` when the exporter knows it, otherwise by spooling
the stream to a temporary file first (:func:`prepare_source`). File bytes are read in chunks and
never held whole in memory. A body can be iterated again for a retry; each pass reopens the bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from typing import IO

from ..errors import ItemError
from ..models import Item

__all__ = ["CHUNK_SIZE", "ByteSource", "MultipartBody", "prepare_source"]

CHUNK_SIZE = 1 << 16
_CRLF = b"\r\n"


class ByteSource:
    """Re-openable bytes of one item with a known size.

    Args:
        item_id: the item the bytes belong to (named in errors).
        size: exact byte count.
        opener: returns a fresh binary stream positioned at the start.
        cleanup: called by :meth:`close` (removes a spool file).
    """

    def __init__(self, item_id: str, size: int, opener: Callable[[], IO[bytes]], cleanup: Callable[[], None] | None = None):
        self.item_id = item_id
        self.size = size
        self._opener = opener
        self._cleanup = cleanup
        self.sha256: str | None = None  # hex digest of the last complete pass over the bytes

    def chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the bytes in chunks; raise ItemError if the stream is not ``size`` bytes long.

        A complete pass sets :attr:`sha256` (hashed while sending, no second read), which the
        importer records so ``ferry verify`` can compare it with what the destination holds.
        """
        sent = 0
        digest = hashlib.sha256()
        with self._opener() as stream:
            while True:
                block = stream.read(min(chunk_size, self.size - sent + 1))
                if not block:
                    break
                sent += len(block)
                if sent > self.size:
                    raise ItemError(self.item_id, f"the bytes are longer than the announced {self.size} bytes")
                digest.update(block)
                yield block
        if sent != self.size:
            raise ItemError(self.item_id, f"the bytes ended after {sent} of the announced {self.size} bytes")
        self.sha256 = digest.hexdigest()

    def close(self) -> None:
        if self._cleanup is not None:
            self._cleanup()
            self._cleanup = None

    def __enter__(self) -> "ByteSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def prepare_source(item: Item, open_bytes: Callable[[Item], IO[bytes]], *, spool_dir: str | None = None) -> ByteSource:
    """Return a :class:`ByteSource` for ``item``; spool to a temp file when its size is unknown.

    Why spool: the request must announce its total Content-Length before the first byte, and
    the spool file also lets a retry resend without asking the exporter again.
    """
    size = getattr(item, "size", None)
    if size is not None:
        return ByteSource(item.id, size, lambda: open_bytes(item))
    handle, path = tempfile.mkstemp(prefix="ferry-generic-", suffix=".spool", dir=spool_dir)
    try:
        with os.fdopen(handle, "wb") as spool, open_bytes(item) as stream:
            shutil.copyfileobj(stream, spool, CHUNK_SIZE)
        size = os.path.getsize(path)
    except BaseException:
        os.unlink(path)
        raise

    def remove() -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    return ByteSource(item.id, size, lambda: open(path, "rb"), remove)


class MultipartBody:
    """One multipart/related request body: the envelope JSON, then the file bytes.

    Iterate it (httpx accepts an iterable ``content``) to stream; iterate again to resend.

    Args:
        envelope: part 1, the compact JSON envelope.
        mime_type: part 2 Content-Type.
        source: the file bytes.
        boundary: defaults to a random UUID, like okhttp.
        on_bytes: called with the number of file bytes as each chunk goes out (progress).
    """

    def __init__(
        self,
        envelope: bytes,
        mime_type: str,
        source: ByteSource,
        *,
        boundary: str | None = None,
        on_bytes: Callable[[int], None] | None = None,
        chunk_size: int = CHUNK_SIZE,
    ):
        self.boundary = boundary or str(uuid.uuid4())
        self.source = source
        self._on_bytes = on_bytes
        self._chunk_size = chunk_size
        delimiter = b"--" + self.boundary.encode("ascii")
        self._head = b"".join(
            [
                delimiter, _CRLF,
                b"Content-Type: application/json", _CRLF,
                b"Content-Length: ", str(len(envelope)).encode(), _CRLF,
                _CRLF,
                envelope, _CRLF,
                delimiter, _CRLF,
                b"Content-Type: ", mime_type.encode("ascii"), _CRLF,
                b"Content-Length: ", str(source.size).encode(), _CRLF,
                _CRLF,
            ]
        )  # fmt: skip
        self._tail = _CRLF + delimiter + b"--" + _CRLF

    @property
    def content_type(self) -> str:
        return f"multipart/related; boundary={self.boundary}"

    @property
    def content_length(self) -> int:
        return len(self._head) + self.source.size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        for block in self.source.chunks(self._chunk_size):
            if self._on_bytes is not None:
                self._on_bytes(len(block))
            yield block
        yield self._tail
