"""Every HTTP receiver refuses oversized bodies unread, bounds concurrency and checks secrets first.

Real servers on 127.0.0.1 (uvicorn in a thread, the stdlib loopback), real sockets
(tests/hostile/requests.py): a 50 MB body is refused by its Content-Length before a byte of it is
read, a chunked one is cut at the cap, more requests in flight than allowed get 503, and a body
that is not even JSON is refused 401 when its signature or secret is wrong (it was never parsed).
The process-level figures (RSS of ``ferry serve-webhooks`` under 50 MB bodies) are in
test_receiver_processes.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from connectors.inbound import InboundLimits, bearer_matches, secrets_equal, signature_matches, hmac_sha256_hex
from connectors.tiktok.webhooks import SIGNATURE_HEADER, signature_header
from ferry.servers.destination.app import create_app, receiving_limits
from ferry.servers.tiktok_webhooks import WEBHOOK_PATH, create_webhook_app
from ferry.servers.expiry_notices import NOTICE_PATH, create_expiry_app
from tests.fakes.server import ThreadedServer
from tests.hostile.requests import MB, chunked, hold_open, request_head, send_raw, zeros

SECRET = "tiktok-app-secret"
NOTICE_SECRET = "notice-secret"


@dataclass
class Receiver:
    name: str
    server: ThreadedServer
    app: object
    path: str
    cap: int
    headers: dict[str, str]

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server.port)

    def head(self, method: str = "POST", **headers: str) -> bytes:
        return request_head(method, self.path, f"127.0.0.1:{self.server.port}", {**self.headers, **headers})


def _tiktok(limits=None):
    return create_webhook_app(lambda key, payload: None, {"ck": SECRET}, limits=limits), WEBHOOK_PATH, 64 * 1024, {"Content-Type": "application/json"}


def _expiry(tmp_path, limits=None):
    from flows.store import get_engine

    engine = get_engine(f"sqlite:///{tmp_path / 'store.db'}", create=True)
    auth = {"Content-Type": "application/json", "Authorization": f"Bearer {NOTICE_SECRET}"}
    return create_expiry_app(engine, NOTICE_SECRET, limits=limits), NOTICE_PATH, 1 * MB, auth


def _destination_json(tmp_path, limits=None):
    return create_app(str(tmp_path / "dest"), limits=limits), "/dtp/social-posts", 1 * MB, {"Content-Type": "application/json", "Authorization": "Bearer x"}


def _destination_upload(tmp_path, limits=None):
    app = create_app(str(tmp_path / "dest"), limits=limits or receiving_limits(max_upload_bytes=10 * MB))
    return app, "/dtp/media", 10 * MB, {"Content-Type": "multipart/related; boundary=b", "Authorization": "Bearer x"}


def _destination_oauth(tmp_path, limits=None):
    return create_app(str(tmp_path / "dest"), limits=limits), "/oauth/token", 64 * 1024, {"Content-Type": "application/x-www-form-urlencoded"}


BUILDERS = {
    "tiktok-webhook": lambda tmp, limits=None: _tiktok(limits),
    "expiry-notices": _expiry,
    "destination-json": _destination_json,
    "destination-upload": _destination_upload,
    "destination-oauth": _destination_oauth,
}


@pytest.fixture(params=sorted(BUILDERS))
def receiver(request, tmp_path) -> Iterator[Receiver]:
    app, path, cap, headers = BUILDERS[request.param](tmp_path)
    with ThreadedServer(app) as server:
        yield Receiver(request.param, server, app, path, cap, headers)


def test_announced_50_mb_body_is_refused_before_a_byte_is_sent(receiver):
    answer = send_raw(receiver.address, receiver.head(**{"Content-Length": str(50 * MB)}))
    assert answer.status == 413, answer.raw[:300]
    assert answer.body_bytes_sent == 0  # the answer came while the body was still entirely ours
    assert json.loads(answer.text)["error"] == "payload_too_large"
    assert b"connection: close" in answer.raw.lower()  # and the server will not drain it either


def test_announced_50_mb_body_streamed_anyway_is_not_consumed(receiver):
    answer = send_raw(receiver.address, receiver.head(**{"Content-Length": str(50 * MB)}), zeros(50 * MB))
    assert answer.status == 413
    assert answer.body_bytes_sent < 16 * MB, f"{answer.body_bytes_sent} bytes went out before the refusal"


def test_chunked_body_is_cut_at_the_cap(receiver):
    answer = send_raw(receiver.address, receiver.head(**{"Transfer-Encoding": "chunked"}), chunked(zeros(50 * MB)))
    assert answer.status == 413, answer.raw[:300]
    assert answer.body_bytes_sent < receiver.cap + 16 * MB


def test_a_body_under_the_cap_still_reaches_the_receiver(receiver):
    small = b"x" * 100
    answer = send_raw(receiver.address, receiver.head(**{"Content-Length": str(len(small))}), [small])
    assert answer.status is not None and answer.status not in (413, 503)


def test_requests_beyond_the_concurrency_bound_get_503(request, tmp_path):
    for name, build in sorted(BUILDERS.items()):
        app, path, cap, headers = build(tmp_path / name, InboundLimits(max_body_bytes=10 * MB, max_concurrent=2))
        with ThreadedServer(app) as server:
            r = Receiver(name, server, app, path, cap, headers)
            gate = app.state.inbound_gate
            held = [hold_open(r.address, r.head(**{"Content-Length": "100"}), b"x" * 10) for _ in range(2)]
            _until(lambda: gate.in_flight == 2, what=f"{name}: two requests in flight")
            busy = send_raw(r.address, r.head(**{"Content-Length": "2"}), [b"{}"])
            assert busy.status == 503 and b"retry-after: 1" in busy.raw.lower(), name
            for sock in held:
                sock.close()
            _until(lambda: gate.in_flight == 0, what=f"{name}: held requests ended")
            again = send_raw(r.address, r.head(**{"Content-Length": "2"}), [b"{}"])
            assert again.status not in (None, 503), name
            assert gate.peak == 2 and gate.refused == 1, name


def _until(condition, *, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.01)


# -- secrets before parsing ---------------------------------------------------------------------

NOT_JSON = b"{" * 50_000  # would be a parse error (or worse) if anyone parsed it


def test_tiktok_signature_is_checked_on_raw_bytes_before_parsing():
    app, path, _, _ = _tiktok()
    now = int(time.time())
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as client:
        forged = client.post(path, content=NOT_JSON, headers={SIGNATURE_HEADER: signature_header(NOT_JSON, "forged", now)})
        signed = client.post(path, content=NOT_JSON, headers={SIGNATURE_HEADER: signature_header(NOT_JSON, SECRET, now)})
        other_app = json.dumps({"client_key": "someone-else", "event": "portability.download.ready", "create_time": now, "content": "{\"request_id\": 1}"}).encode()
        wrong_key = client.post(path, content=other_app, headers={SIGNATURE_HEADER: signature_header(other_app, SECRET, now)})
    assert forged.status_code == 401  # never parsed: the signature came first
    assert signed.status_code == 400  # a correctly signed body is parsed, and this one is not JSON
    assert wrong_key.status_code == 401 and "another app" in wrong_key.json()["error"]


def test_notice_secret_is_checked_before_the_body_is_parsed(tmp_path):
    app, path, _, _ = _expiry(tmp_path)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as client:
        assert client.post(path, content=NOT_JSON, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.post(path, content=NOT_JSON).status_code == 401
        assert client.post(path, content=NOT_JSON, headers={"Authorization": f"Bearer {NOTICE_SECRET}"}).status_code == 422


def test_secret_comparisons():
    assert secrets_equal("abc", "abc") and not secrets_equal("abc", "abd") and not secrets_equal("", "")
    assert not secrets_equal("anything", None)  # no configured secret never matches
    assert bearer_matches("Bearer s3cret", "s3cret") and bearer_matches("bearer  s3cret ", "s3cret")
    assert not bearer_matches("Basic s3cret", "s3cret") and not bearer_matches(None, "s3cret") and not bearer_matches("Bearer ", "")
    mac = hmac_sha256_hex("key", b"a", b"b")
    assert signature_matches(mac, "key", b"ab") and signature_matches(mac.upper(), "key", b"a", b"b")
    assert not signature_matches(mac, "other", b"ab") and not signature_matches("", "key", b"ab") and not signature_matches("zz\u00e9", "key", b"ab")


# -- the login loopback -------------------------------------------------------------------------


def test_loopback_refuses_bodies_and_other_methods_unread():
    from connectors.oauth import LoopbackCallback

    with LoopbackCallback() as callback:
        callback.expect_state("s")
        address = ("127.0.0.1", callback.port)
        big = send_raw(address, request_head("GET", "/callback?code=c&state=s", "127.0.0.1", {"Content-Length": str(50 * MB)}))
        post = send_raw(address, request_head("POST", "/callback?code=c&state=s", "127.0.0.1", {"Content-Length": str(50 * MB)}))
        assert (big.status, big.body_bytes_sent) == (413, 0)
        assert (post.status, post.body_bytes_sent) == (405, 0)
        assert httpx.get(callback.redirect_uri, params={"code": "c", "state": "s"}).status_code == 200  # the login still works
        assert callback.wait(5).code.get_secret_value() == "c"


def test_loopback_bounds_concurrent_requests_and_recovers():
    import socket

    from connectors.oauth import LoopbackCallback
    from connectors.oauth._loopback import MAX_CONCURRENT

    with LoopbackCallback() as callback:
        callback.expect_state("s")
        idle = [socket.create_connection(("127.0.0.1", callback.port)) for _ in range(MAX_CONCURRENT)]
        _until(lambda: callback.gate.in_flight == MAX_CONCURRENT, what="idle connections hold every slot")
        busy = httpx.get(callback.redirect_uri, params={"code": "c", "state": "s"})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        for sock in idle:
            sock.close()
        _until(lambda: callback.gate.in_flight == 0, what="slots given back")
        assert httpx.get(callback.redirect_uri, params={"code": "c", "state": "s"}).status_code == 200
        assert callback.wait(5).code.get_secret_value() == "c"
