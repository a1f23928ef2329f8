"""Progress reporting without knowing who listens (fsspec's callback idea).

Connectors call ``progress.advance(bytes=n)`` while streaming; the CLI plugs in a Rich progress
bar and the flow a Prefect progress artifact. Nothing here imports either.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Progress", "NullProgress", "CountingProgress"]


class Progress(Protocol):
    def advance(self, *, items: int = 0, bytes: int = 0) -> None:
        """Report items finished and bytes moved since the last call."""

    def expect(self, *, items: int = 0, bytes: int = 0) -> None:
        """Report more work discovered (grows the totals)."""


class NullProgress:
    def advance(self, *, items: int = 0, bytes: int = 0) -> None:
        pass

    def expect(self, *, items: int = 0, bytes: int = 0) -> None:
        pass


class CountingProgress:
    """Keeps totals; handy in tests and as the base of richer sinks."""

    def __init__(self) -> None:
        self.items = 0
        self.bytes = 0
        self.expected_items = 0
        self.expected_bytes = 0

    def advance(self, *, items: int = 0, bytes: int = 0) -> None:
        self.items += items
        self.bytes += bytes

    def expect(self, *, items: int = 0, bytes: int = 0) -> None:
        self.expected_items += items
        self.expected_bytes += bytes
