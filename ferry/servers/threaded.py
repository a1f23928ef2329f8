"""Run an ASGI app with uvicorn in a background thread on 127.0.0.1 (tests, demos)."""

from __future__ import annotations

import socket
import threading
import time

__all__ = ["ThreadedServer"]


class ThreadedServer:
    """``with ThreadedServer(app) as server: httpx.get(server.url + "/...")``.

    Binds the socket before starting uvicorn, so the port is known and free of races, and waits
    until uvicorn reports it started (no sleeping on a guess).
    """

    def __init__(self, app, *, host: str = "127.0.0.1", port: int = 0):
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
