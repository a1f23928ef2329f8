"""Shared parts of the Generic Importer tests: a reference destination on 127.0.0.1 and token doubles."""

from __future__ import annotations

import io
import json
from pathlib import Path

from connectors.errors import ReauthRequired

FIXTURES = Path(__file__).parent / "fixtures" / "generic_importer"
JOB_ID = "123e4567-e89b-12d3-a456-426614174000"


def compact_fixture(name: str) -> bytes:
    """A pretty example envelope as DTP puts it on the wire (compact, same key order)."""
    document = json.loads((FIXTURES / name).read_text("utf-8"))
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class RotatingTokens:
    """A real TokenSource double backed by the reference server's TokenRegistry.

    ``access_token()`` returns the held token; ``refresh(rejected)`` rotates through the registry
    (what connectors.oauth does through the token endpoint) and counts the calls.
    """

    def __init__(self, registry, account: str = "alice", client_id: str = "ferry"):
        self.registry = registry
        self.client_id = client_id
        answer = registry.issue(account, client_id=client_id)
        self._access, self._refresh = answer["access_token"], answer["refresh_token"]
        self.refreshes = 0

    def access_token(self) -> str:
        return self._access

    def refresh(self, rejected: str) -> str:
        self.refreshes += 1
        if rejected != self._access:
            return self._access
        answer = self.registry.rotate(self._refresh, client_id=self.client_id)
        if answer is None:
            raise ReauthRequired("the refresh token was refused")
        self._access, self._refresh = answer["access_token"], answer["refresh_token"]
        return self._access


class NeverValidTokens:
    """Refreshing always yields another token the destination does not know."""

    def __init__(self) -> None:
        self.refreshes = 0

    def access_token(self) -> str:
        return f"bogus-{self.refreshes}"

    def refresh(self, rejected: str) -> str:
        self.refreshes += 1
        return self.access_token()


class PatternStream(io.RawIOBase):
    """``size`` deterministic bytes produced on the fly (a large file that is never in memory)."""

    def __init__(self, size: int, seed: int = 7):
        self.size = size
        self.position = 0
        self._block = bytes((seed + i * 31) % 251 for i in range(65536))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.size - self.position, len(self._block))
        offset = self.position % len(self._block)
        chunk = (self._block[offset:] + self._block[:offset])[:count]
        buffer[:count] = chunk
        self.position += count
        return count


class RecordingClock:
    """A pacer/retry clock that records the waits asked of it instead of sleeping.

    ``monotonic()`` is real time plus everything "slept" so far, so a hold taken against it
    opens once its wait was recorded (the tests must not wait).
    """

    def __init__(self) -> None:
        import time

        self._real = time.monotonic
        self.delays: list[float] = []
        self.slept = 0.0

    def monotonic(self) -> float:
        return self._real() + self.slept

    def sleep(self, seconds: float) -> bool:
        self.delays.append(seconds)
        self.slept += max(0.0, seconds)
        return True


class Destination:
    """A running reference destination: ``url`` (the Generic Importer base), ``api`` (knobs,
    received requests, store), ``tokens`` (registry) and ``root`` (storage folder)."""

    def __init__(self, app, server, root: Path):
        self.app = app
        self.server = server
        self.root = root
        self.api = app.state.importer
        self.tokens = app.state.tokens
        self.url = server.url + "/dtp"

    def reset(self) -> None:
        from ferry.servers.destination.importer_api import ServerKnobs

        self.api.knobs = ServerKnobs()
        self.api.received.clear()
        self.api.used_bytes = 0
        self.api.most_in_flight = 0


def start_destination(root: Path, **options):
    """Context manager: the reference destination app on 127.0.0.1 (uvicorn in a thread)."""
    from contextlib import contextmanager

    from ferry.servers.destination.app import create_app
    from ferry.servers.threaded import ThreadedServer

    @contextmanager
    def running():
        app = create_app(str(root), static_tokens={"good-token": "alice"}, **options)
        with ThreadedServer(app) as server:
            yield Destination(app, server, root)

    return running()
