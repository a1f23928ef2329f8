"""connectors.http against a real server on 127.0.0.1: refresh once, one pacer per session, tables, keep-alive.

The clock is injected (tests.generic_support.RecordingClock): waits are recorded, never slept.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.errors import DestinationFull, FatalError, ItemError, ReauthRequired, RetryableError, RetryableItemError
from connectors.http import Action, ErrorTable, HttpSession, HttpSettings, Pacer, Rule
from ferry.servers.threaded import ThreadedServer
from tests.generic_support import RecordingClock

TABLE = ErrorTable(
    service="Test",
    rules=(
        Rule(Action.OK, (200, 299)),
        Rule(Action.FULL, 413, "full"),
        Rule(Action.RETRY_CALL, 429),
        Rule(Action.REAUTH, 403, "scope_missing", note="grant the scope"),
        Rule(Action.RETRY_ITEM, (500, 599)),
    ),
    otherwise=Action.ITEM,
    rejects_token=(401, "invalid_token"),
)


class Service:
    """A tiny API: ``/protected`` wants a valid bearer token, ``/answer`` says what it is told."""

    def __init__(self) -> None:
        self.valid = {"t1"}
        self.seen: list[tuple[str, str | None, int]] = []  # (path, bearer token, client port)
        self.throttle_next = 0
        self.retry_after = "5"
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.api_route("/protected", methods=["GET", "POST"])
        async def protected(request: Request):
            body = await request.body()
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            self.seen.append(("/protected", token, request.client.port))
            with self.lock:
                if self.throttle_next:
                    self.throttle_next -= 1
                    return JSONResponse({"error": "slow_down"}, status_code=429, headers={"Retry-After": self.retry_after})
            if token not in self.valid:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            return JSONResponse({"ok": True, "echo": body.decode()})

        @self.app.get("/answer/{status}")
        async def answer(status: int, request: Request, code: str | None = None):
            self.seen.append(("/answer", None, request.client.port))
            return JSONResponse({"error": code} if code else {}, status_code=status)


class Tokens:
    """A TokenSource: ``refresh`` hands out the next valid token and counts the calls."""

    def __init__(self, service: Service, refresh_to: str | None = "t2"):
        self.service, self.current, self.refresh_to, self.refreshes = service, "t0", refresh_to, 0
        self.lock = threading.Lock()

    def access_token(self) -> str:
        return self.current

    def refresh(self, rejected: str) -> str:
        with self.lock:
            self.refreshes += 1
            if self.refresh_to is None:
                raise ReauthRequired("refused")
            self.current = self.refresh_to
            return self.current


@pytest.fixture(scope="module")
def running():
    service = Service()
    with ThreadedServer(service.app) as server:
        yield service, server.url


@pytest.fixture
def service(running):
    service, url = running
    service.valid, service.throttle_next, service.retry_after = {"t1"}, 0, "5"
    service.seen.clear()
    service.url = url
    return service


def session(service, tokens=None, clock=None, **settings) -> HttpSession:
    return HttpSession(TABLE, tokens=tokens, base_url=service.url, settings=HttpSettings(**settings), clock=clock or RecordingClock())


def test_a_rejected_token_is_refreshed_once_and_the_same_request_resent(service):
    service.valid = {"t2"}
    tokens = Tokens(service)
    with session(service, tokens) as s:
        response = s.http.post("/protected", content=b"same body")
    assert response.status_code == 200 and response.json()["echo"] == "same body"
    assert tokens.refreshes == 1 and [token for _, token, _ in service.seen] == ["t0", "t2"]


def test_still_rejected_after_the_refresh_is_reauth_and_never_a_loop(service):
    tokens = Tokens(service, refresh_to="t9")  # a fresh token the service does not know either
    with session(service, tokens) as s:
        response = s.http.get("/protected")
    assert response.status_code == 401 and tokens.refreshes == 1 and len(service.seen) == 2
    error = TABLE.answer_error(response.status_code, response.content, response.headers, "GET /protected")
    assert isinstance(error, ReauthRequired) and "still rejected after a refresh" in str(error) and "t9" not in str(error)


def test_a_refused_refresh_comes_out_of_the_request(service):
    with session(service, Tokens(service, refresh_to=None)) as s, pytest.raises(ReauthRequired, match="refused"):
        s.http.get("/protected")


def test_a_401_with_another_code_is_not_a_token_rejection(service):
    tokens = Tokens(service)
    with session(service, tokens) as s:
        response = s.http.get("/answer/401", params={"code": "insufficient_scope"})
    assert response.status_code == 401 and tokens.refreshes == 0 and len(service.seen) == 1


def test_concurrent_rejections_refresh_once(service):
    service.valid = {"t2"}
    tokens = Tokens(service)
    with session(service, tokens, connections=4) as s, ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: s.http.get("/protected").status_code, range(8)))
    assert statuses == [200] * 8 and tokens.refreshes == 1


class StampingTransport(httpx.BaseTransport):
    """Notes the (fake) clock's time as each request really goes out, after the pacer."""

    def __init__(self, clock):
        self.clock, self.inner, self.sent_at = clock, httpx.HTTPTransport(), []

    def handle_request(self, request):
        self.sent_at.append(self.clock.monotonic())
        return self.inner.handle_request(request)

    def close(self):
        self.inner.close()


@pytest.mark.parametrize("style", ["seconds", "http-date"])
def test_a_429_holds_the_pacer_for_every_request_of_the_session(service, style):
    service.throttle_next = 1
    service.retry_after = "5" if style == "seconds" else format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    low, high = (4.0, 5.0) if style == "seconds" else (25.0, 30.0)
    clock = RecordingClock()
    stamps = StampingTransport(clock)
    tokens = Tokens(service, refresh_to="t1")
    tokens.current = "t1"
    with HttpSession(TABLE, tokens=tokens, base_url=service.url, transport=stamps, clock=clock) as s:
        first = s.http.get("/protected")
        gate = clock.monotonic() + low
        assert first.status_code == 429 and clock.delays == []  # the session itself never retries
        error = TABLE.answer_error(first.status_code, first.content, first.headers, "GET /protected")
        assert isinstance(error, RetryableError) and low <= error.retry_after <= high
        assert len(s.pacer.holds) == 1 and low <= s.pacer.holds[0] <= high
        with ThreadPoolExecutor(4) as pool:  # four threads, each held at the gate before sending
            statuses = list(pool.map(lambda _: s.http.get("/protected").status_code, range(4)))
    assert statuses == [200] * 4 and clock.delays and low - 1 <= clock.delays[0] <= high
    assert len(stamps.sent_at) == 5 and all(when >= gate for when in stamps.sent_at[1:])  # none went out early


def test_the_pacer_gate_only_moves_forward_and_a_stopped_clock_lets_go():
    clock = RecordingClock()
    pacer = Pacer(clock)
    pacer.hold(10)
    pacer.hold(2)  # a shorter hold never shortens the wait
    assert 9 < pacer.delay() <= 10
    pacer.wait_turn()
    assert pacer.delay() == 0 and len(clock.delays) == 1

    class Stopped(RecordingClock):
        def sleep(self, seconds: float) -> bool:
            super().sleep(0)
            return False  # woken by a stop request: do not wait on

    stopped = Pacer(Stopped())
    stopped.hold(60)
    stopped.wait_turn()
    assert stopped.delay() > 50


def test_sequential_requests_share_one_kept_alive_connection(service):
    with session(service, Tokens(service, refresh_to="t1")) as s:
        s.http.get("/protected")  # 401, refreshed, resent
        for _ in range(5):
            assert s.http.get("/answer/200").status_code == 200
    assert len({port for _, _, port in service.seen}) == 1


def test_errors_are_classified_by_the_table_first_match_wins(service):
    with session(service) as s:
        def error(status, code=None, item_id="item-1"):
            r = s.http.get(f"/answer/{status}", params={"code": code} if code else None)
            return TABLE.answer_error(r.status_code, r.content, r.headers, f"GET /answer/{status}", item_id=item_id)

        assert error(201) is None
        assert isinstance(error(413, "full"), DestinationFull)
        assert type(error(413, "other")) is ItemError  # the code must match too
        assert isinstance(error(503), RetryableItemError) and error(503).item_id == "item-1"
        assert type(error(503, item_id=None)) is RetryableError  # a call, not an item
        assert type(error(404, item_id=None)) is FatalError
        scope = error(403, "scope_missing")
        assert isinstance(scope, ReauthRequired) and str(scope).endswith("HTTP 403 scope_missing; grant the scope")
    assert len(service.seen) == 8  # one request per call: nothing retried


def test_table_actions_and_defaults():
    table = ErrorTable(service="X", rules=(Rule(Action.RETRY_CALL, 429),), default_retry_after=60.0)
    assert table.classify(429, None) is Action.RETRY_CALL and table.classify(418, None) is Action.ITEM
    assert table.error(Action.RETRY_CALL, "x").retry_after == 60.0
    assert table.error(Action.RETRY_CALL, "x", retry_after=3).retry_after == 3
    assert table.classify(401, "anything") is Action.REAUTH  # rejects_token defaults to any 401
    assert table.classify(500, None) is Action.ITEM
    with pytest.raises(ValueError):
        table.error(Action.OK, "x")


def test_network_errors_follow_the_table(service):
    import socket

    with socket.socket() as sock:  # bound, never listening: surely closed
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with HttpSession(TABLE, base_url=url, clock=RecordingClock()) as s:
            with pytest.raises(httpx.ConnectError) as caught:
                s.http.get("/x")
    error = TABLE.network_error(caught.value, "GET /x", item_id="i")
    assert isinstance(error, RetryableItemError) and "ConnectError" in str(error)


def test_session_repr_and_auth_hide_tokens(service):
    with session(service, Tokens(service)) as s:
        assert "t0" not in repr(s) and "t0" not in repr(s.http.auth)
