"""A streaming reader for DTP's two-part ``multipart/related`` bodies.

Why not python-multipart: DTP's parts carry no ``Content-Disposition`` (it is
``multipart/related``, not ``form-data``), and the file part must go to storage as it arrives,
never held whole in memory. This reader keeps at most one network chunk plus the delimiter
length in memory while streaming part 2.

Accepted framing (SPEC §3.3): ``--B CRLF headers CRLF CRLF body CRLF --B ... --B--``. A preamble
before the first delimiter and an epilogue after the last are ignored. A part's
``Content-Length``, when present, must match its body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import Message
from email.parser import HeaderParser

__all__ = ["MultipartError", "StreamReader", "RelatedReader", "boundary_of"]

_MAX_HEADERS = 8 * 1024
_MAX_PREAMBLE = 64 * 1024


class MultipartError(ValueError):
    """The body is not the multipart/related framing the contract describes."""


def boundary_of(content_type: str) -> str:
    """The ``boundary`` parameter of a ``multipart/related`` Content-Type (MultipartError if absent)."""
    message = Message()
    message["content-type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not boundary or len(boundary) > 200:
        raise MultipartError("Content-Type multipart/related has no usable boundary parameter")
    return boundary


class StreamReader:
    """Buffers an async byte iterator just enough to find delimiters."""

    def __init__(self, chunks: AsyncIterator[bytes]):
        self._chunks = chunks
        self._buffer = bytearray()
        self._eof = False

    async def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            while True:
                chunk = await self._chunks.__anext__()
                if chunk:
                    self._buffer += chunk
                    return True
        except StopAsyncIteration:
            self._eof = True
            return False

    async def read_until(self, delimiter: bytes, limit: int, what: str) -> bytes:
        """Return the bytes before ``delimiter`` and consume both; at most ``limit`` bytes."""
        start = 0
        while True:
            index = self._buffer.find(delimiter, start)
            if index >= 0:
                data = bytes(self._buffer[:index])
                del self._buffer[: index + len(delimiter)]
                return data
            if len(self._buffer) > limit + len(delimiter):
                raise MultipartError(f"{what} is longer than {limit} bytes")
            start = max(0, len(self._buffer) - len(delimiter) + 1)
            if not await self._fill():
                raise MultipartError(f"the body ended inside {what}")

    async def iter_until(self, delimiter: bytes, what: str) -> AsyncIterator[bytes]:
        """Yield the bytes before ``delimiter`` as they arrive; consume the delimiter."""
        keep = len(delimiter) - 1
        while True:
            index = self._buffer.find(delimiter)
            if index >= 0:
                if index:
                    yield bytes(self._buffer[:index])
                del self._buffer[: index + len(delimiter)]
                return
            if len(self._buffer) > keep:
                cut = len(self._buffer) - keep
                yield bytes(self._buffer[:cut])
                del self._buffer[:cut]
            if not await self._fill():
                raise MultipartError(f"the body ended inside {what}")

    async def read(self, size: int) -> bytes:
        while len(self._buffer) < size and await self._fill():
            pass
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def drain(self) -> None:
        self._buffer.clear()
        while await self._fill():
            self._buffer.clear()


class RelatedReader:
    """Walks the parts of one multipart/related body, in order.

    Usage: ``headers = await reader.next_part()`` (None after the closing delimiter), then
    either ``await reader.read_body(limit)`` or ``async for chunk in reader.stream_body()``.
    """

    def __init__(self, chunks: AsyncIterator[bytes], boundary: str):
        self.stream = StreamReader(chunks)
        self._dash = b"--" + boundary.encode("latin-1")
        self._delimiter = b"\r\n" + self._dash
        self._started = False
        self._closed = False
        self.parts_seen = 0

    async def _after_delimiter(self) -> None:
        tail = await self.stream.read(2)
        if tail == b"--":
            self._closed = True
        elif tail != b"\r\n":
            raise MultipartError(f"expected CRLF or '--' after the boundary of part {self.parts_seen + 1}")

    async def next_part(self) -> Message | None:
        """Parse the next part's headers; None when the closing delimiter was reached."""
        if not self._started:
            self._started = True
            first = await self.stream.read(len(self._dash))
            if first != self._dash:
                # tolerate a preamble: look for the first delimiter after a CRLF
                self.stream._buffer[:0] = first
                await self.stream.read_until(self._delimiter, _MAX_PREAMBLE, "the preamble")
            await self._after_delimiter()
        if self._closed:
            return None
        head = await self.stream.read(2)
        if head == b"\r\n":
            raw = b""
        else:
            raw = head + await self.stream.read_until(b"\r\n\r\n", _MAX_HEADERS, f"the headers of part {self.parts_seen + 1}")
        self.parts_seen += 1
        return HeaderParser().parsestr(raw.decode("latin-1"))

    async def read_body(self, limit: int) -> bytes:
        body = await self.stream.read_until(self._delimiter, limit, f"part {self.parts_seen}")
        await self._after_delimiter()
        return body

    async def stream_body(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream.iter_until(self._delimiter, f"part {self.parts_seen}"):
            yield chunk
        await self._after_delimiter()

    async def finish(self) -> None:
        """Require the closing delimiter now and ignore any epilogue."""
        if not self._closed:
            raise MultipartError(f"expected exactly {self.parts_seen} parts, found more")
        await self.stream.drain()
