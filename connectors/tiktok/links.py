"""Fetching a post's media from its signed link: probe what it is, stream its bytes.

The links in a download point at TikTok's media hosts, signed for a while. They are fetched over a
session of their own (:class:`~connectors.http.HttpSession` without a token: a third-party host
must never see the user's bearer token), with this table (:data:`LINK_TABLE`)::

    =====================  ====================================================================
    2xx                    the bytes (a web page instead of media is an ItemError: metadata only)
    401, 403, 404, 410     :class:`LinkGone`: the signature expired or the media was withdrawn;
                           the exporter asks TikTok for fresh links before failing the item
    429                    RetryableError(retry_after = Retry-After): the pacer holds every link
                           fetch until then, the engine waits and tries again
    5xx, network errors    RetryableItemError: this item, later
    other                  ItemError naming the link (without its signature)
    =====================  ====================================================================

**Each dead link is fetched once**: a link that answered "gone" is remembered, and asking for it
again raises :class:`LinkGone` without a request. Messages show a link without its query: the
signature is a capability to the user's media.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import IO

import httpx

from ..errors import ItemError, RetryableItemError
from ..http import Action, ErrorTable, HttpSession, HttpSettings, Rule, read_bounded
from .entries import stable_link
from .media import SNIFF_BYTES, MediaType, sniff

__all__ = ["LINK_TABLE", "GONE_STATUSES", "LinkGone", "MediaLinks"]

#: What a media host's answers mean (first match wins); "gone" answers are handled before it.
LINK_TABLE = ErrorTable(
    service="TikTok media",
    rules=(
        Rule(Action.OK, (200, 299)),
        Rule(Action.RETRY_CALL, 429, note="rate limited"),
        Rule(Action.RETRY_ITEM, (500, 599)),
    ),
    otherwise=Action.ITEM,
    network=Action.RETRY_ITEM,
    rejects_token=(0, None),  # no token is sent: nothing to refresh
    code_of=lambda body: None,
)

#: Answers meaning the link itself is no good any more (expired signature, withdrawn media).
GONE_STATUSES = frozenset({401, 403, 404, 410})


class LinkGone(Exception):
    """The link answered ``status`` (expired or withdrawn), now or on an earlier fetch."""

    def __init__(self, url: str, status: int):
        super().__init__(f"media link {stable_link(url)} answered HTTP {status}")
        self.url = url
        self.status = status


class _LinkStream(io.RawIOBase):
    """A readable binary stream over a streaming response (closes the response)."""

    def __init__(self, response: httpx.Response, item_id: str, what: str) -> None:
        self._response = response
        self._chunks: Iterator[bytes] = response.iter_bytes(1 << 16)
        self._item_id, self._what = item_id, what
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
            except httpx.HTTPError as exc:
                raise RetryableItemError(self._item_id, f"{self._what} broke off: {type(exc).__name__}") from None
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


class MediaLinks:
    """One session for every media link of an exporter, remembering the dead ones.

    Args:
        transport: optional httpx transport (tests, proxies); still paced.
        timeout: seconds per network operation.
    """

    def __init__(self, *, transport: httpx.BaseTransport | None = None, timeout: float = 60.0) -> None:
        settings = HttpSettings(timeout=timeout, connections=8, follow_redirects=True, user_agent="ferry-tiktok/0.1")
        self.session = HttpSession(LINK_TABLE, settings=settings, transport=transport)
        self._dead: dict[str, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MediaLinks({len(self._dead)} dead)"

    def close(self) -> None:
        self.session.close()

    def is_dead(self, url: str) -> bool:
        with self._lock:
            return url in self._dead

    def probe(self, item_id: str, url: str) -> MediaType | None:
        """What the link serves, from its first bytes (then its Content-Type); None: not media.

        Raises:
            LinkGone: expired or withdrawn (now or before).
            RetryableError, RetryableItemError, ItemError: see :data:`LINK_TABLE`.
        """
        response = self._get(item_id, url, headers={"Range": f"bytes=0-{SNIFF_BYTES - 1}"})
        try:
            head = b""
            for chunk in response.iter_bytes(SNIFF_BYTES):
                head += chunk
                if len(head) >= SNIFF_BYTES:
                    break
        except httpx.HTTPError as exc:
            raise RetryableItemError(item_id, f"media link {stable_link(url)} broke off: {type(exc).__name__}") from None
        finally:
            response.close()
        return sniff(head, response.headers.get("content-type"))

    def open(self, item_id: str, url: str) -> IO[bytes]:
        """Stream the link's bytes (caller closes). A web page is an ItemError: there is no media.

        Raises:
            LinkGone: expired or withdrawn (now or before).
            RetryableError, RetryableItemError, ItemError: see :data:`LINK_TABLE`.
        """
        what = f"media link {stable_link(url)}"
        response = self._get(item_id, url)
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype.startswith("text/") or ctype == "application/json":
            response.close()
            raise ItemError(item_id, f"{what} is a web page ({ctype}), not a media file; metadata only")
        return io.BufferedReader(_LinkStream(response, item_id, what), buffer_size=1 << 16)

    def _get(self, item_id: str, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        with self._lock:
            status = self._dead.get(url)
        if status is not None:
            raise LinkGone(url, status)
        what = f"media link {stable_link(url)}"
        try:
            response = self.session.http.send(self.session.http.build_request("GET", url, headers=headers), stream=True)
        except httpx.TransportError as exc:
            raise LINK_TABLE.network_error(exc, what, item_id=item_id) from None
        if response.status_code in GONE_STATUSES:
            response.close()
            with self._lock:
                self._dead[url] = response.status_code
            raise LinkGone(url, response.status_code)
        if not response.is_success:
            try:
                answer = read_bounded(response)
            finally:
                response.close()
            error = LINK_TABLE.answer_error(response.status_code, answer, response.headers, what, item_id=item_id)
            if error is not None:
                raise error
        return response
