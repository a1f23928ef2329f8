"""The fake TikTok's media host: links signed for each download, expiring, counted.

Real downloads hold media links signed for a while (``?x-expires=...&x-signature=...``), made
anew each time the data is prepared or served. Here every Download call signs the links of its
zip afresh: ``{base}/_fake/media/<name>`` in the export data stands for "the media called
<name>" and becomes ``{base}/_fake/cdn/<token>?x-expires=<t>&x-signature=<hex>``, a different URL
each download (path and query), so an id built from a link changes every time, as in life.

Knobs: :meth:`FakeCdn.kill_next_downloads` (the links of the next N downloads answer 403 from the
start), :meth:`FakeCdn.expire_all` (every link signed so far answers 403), :meth:`FakeCdn.throttle_next`
(429 with Retry-After), :meth:`FakeCdn.fail_next` (any status), ``labels`` (a Content-Type per
media name, to lie about what it is). Counters: ``fetches`` (GETs per signed URL path) and
``gone`` (403 answers per path).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from .tiktok_data import media_bytes, media_type

__all__ = ["FakeCdn", "MEDIA_PATH"]

MEDIA_PATH = "/_fake/media/"
_PLACEHOLDER = re.compile(r"https?://[^\"/]+/_fake/media/([A-Za-z0-9._-]+)")


@dataclass
class _Signed:
    name: str
    download: int
    dead: bool = False


class FakeCdn:
    def __init__(self) -> None:
        self.signed: dict[str, _Signed] = {}
        self.fetches: Counter[str] = Counter()
        self.times: list[tuple[str, int, float]] = []  # (signed path, status, time.monotonic()) per fetch
        self.gone: Counter[str] = Counter()
        self.labels: dict[str, str] = {}
        self.downloads = 0
        self._kill_downloads = 0
        self._forced: deque[tuple[int, float | None]] = deque()
        self._lock = threading.Lock()

    # -- knobs ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget counters, knobs and labels (a module-scoped fake shared by several tests)."""
        with self._lock:
            self.fetches.clear()
            self.times.clear()
            self.gone.clear()
            self.labels.clear()
            self._forced.clear()
            self._kill_downloads = 0

    def kill_next_downloads(self, n: int = 1) -> None:
        """The links signed by the next ``n`` downloads are dead (403) from the start."""
        self._kill_downloads += n

    def expire_all(self) -> None:
        """Every link signed so far answers 403 from now on."""
        with self._lock:
            for signed in self.signed.values():
                signed.dead = True

    def throttle_next(self, n: int = 1, retry_after: float = 1) -> None:
        for _ in range(n):
            self._forced.append((429, retry_after))

    def fail_next(self, status: int = 503, n: int = 1) -> None:
        for _ in range(n):
            self._forced.append((status, None))

    # -- signing --------------------------------------------------------------------------

    def sign_all(self, text: str, base_url: str) -> str:
        """Replace every media placeholder link in ``text`` (the export JSON) with a fresh signed one."""
        with self._lock:
            self.downloads += 1
            dead = self._kill_downloads > 0
            self._kill_downloads = max(0, self._kill_downloads - 1)
            download = self.downloads

        def sign(match: re.Match) -> str:
            token = secrets.token_hex(8)
            with self._lock:
                self.signed[token] = _Signed(match.group(1), download, dead)
            expires = int(time.time()) + 3600
            return f"{base_url}/_fake/cdn/{token}?x-expires={expires}&x-signature={secrets.token_hex(16)}"

        return _PLACEHOLDER.sub(sign, text)

    def dead_fetches(self) -> dict[str, int]:
        """How often each dead link was fetched (each should be fetched once)."""
        return dict(self.gone)

    # -- the route ------------------------------------------------------------------------

    def mount(self, app: FastAPI) -> None:
        cdn = self

        @app.get("/_fake/cdn/{token}")
        def media(token: str):
            with cdn._lock:
                cdn.fetches[token] += 1
                forced = cdn._forced.popleft() if cdn._forced else None
                signed = cdn.signed.get(token)
            if forced is not None:
                status, retry_after = forced
                cdn.times.append((token, status, time.monotonic()))
                headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else None
                return JSONResponse({"error": "forced"}, status_code=status, headers=headers)
            if signed is None or signed.dead:
                cdn.times.append((token, 403, time.monotonic()))
                with cdn._lock:
                    cdn.gone[token] += 1
                return Response("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", status_code=403, media_type="application/xml")
            cdn.times.append((token, 200, time.monotonic()))
            return Response(media_bytes(signed.name), media_type=cdn.labels.get(signed.name, media_type(signed.name)))

        @app.get(MEDIA_PATH + "{name}")
        def unsigned(name: str):
            """A placeholder link served as it is (zips built by hand are not signed)."""
            with cdn._lock:
                cdn.fetches[name] += 1
            return Response(media_bytes(name), media_type=media_type(name))
