"""The loopback redirect receiver for ``ferry auth login`` (RFC 8252 §7.3).

A stdlib ``http.server`` on 127.0.0.1 in a daemon thread receives the one redirect that carries
``code`` and ``state`` (or ``error``). Why 127.0.0.1 and not ``localhost``: RFC 8252 §8.3 —
``localhost`` may resolve elsewhere or to IPv6 and a firewall may intercept it.

Why an allowlist: the redirect URI must be one the provider has registered for this client, or
the provider refuses it (and an open redirect would leak the code). An allowlist entry with no
port (``http://127.0.0.1/callback``) matches any port, as RFC 8252 §7.3 asks authorization
servers to allow for loopback redirects; an entry with a port must match exactly. Many providers
(TikTok among them) register one fixed redirect URI, port included: :func:`choose_redirect` then
takes the port and path to listen on from that allowlist entry, so nothing else needs saying.

Hostile local traffic cannot spoil a login (any local process can reach the port): a callback
whose ``state`` is missing or wrong is answered 400 and ignored, and the login keeps waiting
for the right one (the provider's real redirect); only a callback with the right ``state`` ends
the wait, with a code or the provider's ``error``. ``state`` is compared in constant time; a
request announcing a body over :data:`MAX_BODY_BYTES` gets 413 and other methods 405, neither
read; more than :data:`MAX_CONCURRENT` requests at once get 503 (:mod:`connectors.inbound`).

The request line (it contains the code) is never logged: ``log_message`` is silenced.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Sequence
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from ..errors import ConfigError
from ..inbound import ConcurrencyGate, content_length, secrets_equal

__all__ = ["DEFAULT_REDIRECT_URIS", "CallbackResult", "LoopbackCallback", "choose_redirect", "redirect_uri_allowed"]

#: The default allowlist: the loopback callback path, on any port.
DEFAULT_REDIRECT_URIS: tuple[str, ...] = ("http://127.0.0.1/callback",)
#: A redirect is a GET without a body; a request announcing more than this is refused unread.
MAX_BODY_BYTES = 8 * 1024
#: Requests handled at once (each on its own thread); more get 503.
MAX_CONCURRENT = 8


def redirect_uri_allowed(redirect_uri: str, allowed: Sequence[str]) -> bool:
    """True when ``redirect_uri`` matches an allowlist entry (see the module docstring)."""
    got = urlsplit(redirect_uri)
    for entry in allowed:
        want = urlsplit(entry)
        if (got.scheme, got.hostname, got.path or "/") != (want.scheme, want.hostname, want.path or "/"):
            continue
        if want.port is None or want.port == got.port:
            return True
    return False


def choose_redirect(allowed: Sequence[str], *, port: int | None = None, path: str | None = None) -> tuple[int, str]:
    """The loopback ``(port, path)`` to listen on for a redirect the allowlist accepts.

    Given values win (``port=0``: any free port). Otherwise the first ``http://127.0.0.1`` entry
    compatible with what was given supplies the rest: its port (0, any free port, when it names none) and its path. With
    no such entry the defaults (a free port, ``/callback``) are returned, and
    :class:`LoopbackCallback` then says the redirect URI is not allowed.
    """
    for entry in allowed:
        parts = urlsplit(entry)
        entry_path = parts.path or "/"
        if parts.scheme != "http" or parts.hostname != "127.0.0.1":
            continue
        if path is not None and entry_path != path:
            continue
        if port is not None and parts.port not in (None, port):
            continue
        return (port if port is not None else (parts.port or 0), path if path is not None else entry_path)
    return (port or 0, path or "/callback")


@dataclass(frozen=True)
class CallbackResult:
    """The code the provider redirected back with; ``state`` already checked."""

    code: SecretStr
    state: str


_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

_PAGE = """<!doctype html><meta charset="utf-8"><title>ferry</title>
<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body>"""


class LoopbackCallback:
    """Receive one OAuth redirect on 127.0.0.1.

    Use as a context manager: the socket is bound on construction (so the port is known for
    the redirect URI), serving starts on ``__enter__`` and stops on ``__exit__``.

    Args:
        port: the port to bind; 0 picks a free one.
        path: the callback path.
        allowed_redirect_uris: the allowlist (see the module docstring).

    Raises:
        ConfigError: the resulting redirect URI is not in the allowlist, or the port is taken.
    """

    def __init__(self, *, port: int = 0, path: str = "/callback", allowed_redirect_uris: Sequence[str] = DEFAULT_REDIRECT_URIS):
        if not path.startswith("/"):
            path = "/" + path
        self.path = path
        self._expected_state: str | None = None
        self._result: CallbackResult | None = None
        self._error: ConfigError | None = None
        self._done = threading.Event()
        self._ignored = 0
        self._lock = threading.Lock()  # one callback decides at a time
        self.gate = ConcurrencyGate(MAX_CONCURRENT)
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        except OSError as exc:
            raise ConfigError(f"cannot listen on 127.0.0.1:{port} for the OAuth callback: {exc.strerror}") from None
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}{self.path}"
        if not redirect_uri_allowed(self.redirect_uri, allowed_redirect_uris):
            self._server.server_close()
            raise ConfigError(
                f"redirect URI {self.redirect_uri} is not in the allowed redirect URIs "
                f"({', '.join(allowed_redirect_uris) or 'none'}); use --redirect-port or register it"
            )
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LoopbackCallback({self.redirect_uri!r})"

    def expect_state(self, state: str) -> None:
        """Set the ``state`` the redirect must carry (from the authorization request)."""
        self._expected_state = state

    @property
    def ignored(self) -> int:
        """Callbacks refused for a missing or wrong ``state`` (the wait went on)."""
        return self._ignored

    def __enter__(self) -> LoopbackCallback:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="ferry-oauth-callback", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def wait(self, timeout: float | None = 300.0) -> CallbackResult:
        """Block until the redirect arrives.

        Callbacks with a wrong ``state`` do not end the wait (see the module docstring).

        Raises:
            ConfigError: the provider sent ``error`` (e.g. access_denied) with the right ``state``,
                or nothing valid arrived within ``timeout`` (the message counts refused callbacks).
        """
        if not self._done.wait(timeout):
            refused = f"; {self._ignored} callback(s) with a wrong state were refused" if self._ignored else ""
            raise ConfigError(f"no authorization arrived at {self.redirect_uri} within {timeout:.0f} s{refused}")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    # -- the handler ----------------------------------------------------------------------------

    def _receive(self, query: dict[str, list[str]]) -> tuple[int, str, str]:
        with self._lock:
            return self._decide(query)

    def _decide(self, query: dict[str, list[str]]) -> tuple[int, str, str]:
        if self._done.is_set():
            return 409, "Already done", "ferry has already received an answer; close this tab."
        first = {k: v[0] for k, v in query.items() if v}
        state = first.get("state", "")
        if not secrets_equal(state, self._expected_state):
            self._ignored += 1  # not from our authorization request: refuse it, keep waiting
            return 400, "Not ferry's request", "This answer does not belong to the login ferry is waiting for."
        if "error" in first:
            code = first["error"]
            description = first.get("error_description", "")
            self._error = ConfigError(f"the provider refused the authorization: {code}" + (f" ({description})" if description else ""))
            self._done.set()
            return 400, "Authorization refused", f"The provider said: {code}."
        if not first.get("code"):
            self._error = ConfigError("the OAuth callback carried neither code nor error")
            self._done.set()
            return 400, "Authorization failed", "The answer had no code."
        self._result = CallbackResult(code=SecretStr(first["code"]), state=state)
        self._done.set()
        return 200, "ferry is authorized", "You can close this tab and return to the terminal."

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a connection that sends nothing gives its slot back

            def handle_one_request(self) -> None:
                if not owner.gate.try_enter():
                    self.close_connection = True
                    try:  # nothing of the request is read
                        self.wfile.write(_BUSY)
                    except OSError:
                        pass
                    return
                try:
                    super().handle_one_request()
                finally:
                    owner.gate.leave()

            def do_GET(self) -> None:  # noqa: N802 (stdlib name)
                announced = content_length(self.headers.get("Content-Length"))
                if announced is not None and announced > MAX_BODY_BYTES:
                    self._reply(413, "Too large", "A redirect carries no body.")
                    return
                parts = urlsplit(self.path)
                if parts.path != owner.path:
                    self._reply(404, "Not found", "This is ferry's OAuth callback.")
                    return
                self._reply(*owner._receive(parse_qs(parts.query)))

            def _not_allowed(self) -> None:
                self._reply(405, "Method not allowed", "The OAuth redirect is a GET.")

            do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815 (stdlib names)

            def _reply(self, status: int, title: str, text: str) -> None:
                body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
                self.send_response(status)
                self.send_header("Connection", "close")  # never read a body we did not ask for
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # the request line holds the code
                return

        return Handler
