"""Hostile HTTP requests for ferry's receivers, sent over raw sockets (httpx would not send them).

Why raw sockets: a client library writes the whole body before reading the answer, so a server
that (rightly) answers 413 and closes looks like a broken pipe. These helpers send the head,
then the body in pieces while watching for the answer, and report how much of the body the
server let through before answering: the figure that shows a body was refused unread.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["RawAnswer", "chunked", "hold_open", "request_head", "send_raw", "zeros"]

MB = 1024 * 1024


@dataclass
class RawAnswer:
    """What came back: the status (None when the server closed without answering) and the body bytes sent."""

    status: int | None
    body_bytes_sent: int
    raw: bytes

    @property
    def text(self) -> str:
        return self.raw.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


def request_head(method: str, path: str, host: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in (headers or {}).items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def zeros(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of b"0" in pieces (never held whole)."""
    block = b"0" * piece
    sent = 0
    while sent < total:
        part = block[: min(piece, total - sent)]
        sent += len(part)
        yield part


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Transfer-Encoding: chunked framing of ``pieces`` (ends with the zero chunk)."""
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def _status(raw: bytes) -> int | None:
    line = raw.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else None


def send_raw(address: tuple[str, int], head: bytes, body: Iterable[bytes] = (), *, timeout: float = 30.0) -> RawAnswer:
    """Send ``head`` then ``body`` piece by piece, stopping as soon as the server answers or closes.

    Returns the answer and how many body bytes were written before that (bytes in socket
    buffers count as written, so the figure is an upper bound on what the server read).
    """
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    raw, sent = b"", 0
    deadline = time.monotonic() + timeout
    try:
        sock.sendall(head)
        pieces = iter(body)
        finished_body = False
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [] if finished_body else [sock], [], 0.5)
            if readable:
                break
            if writable:
                piece = next(pieces, None)
                if piece is None:
                    finished_body = True
                    continue
                try:
                    sock.sendall(piece)
                except OSError:  # the server closed while we were still sending
                    break
                sent += len(piece)
        raw = _read_answer(sock, deadline)
    finally:
        sock.close()
    return RawAnswer(_status(raw), sent, raw)


def _read_answer(sock: socket.socket, deadline: float) -> bytes:
    raw = b""
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, TimeoutError, OSError):
            break
        if not data:
            break
        raw += data
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if sep:
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), None)
            if length is not None and len(rest) >= length:
                break
    return raw


def hold_open(address: tuple[str, int], head: bytes, partial_body: bytes = b"") -> socket.socket:
    """A connection with a request in flight (head and part of the body sent, the rest never)."""
    sock = socket.create_connection(address, timeout=30)
    sock.sendall(head + partial_body)
    return sock
