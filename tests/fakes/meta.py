"""A fake Meta for the access-expiry tests: OAuth, a few Graph API calls, and Meta Webhooks.

Runs as a real FastAPI server on 127.0.0.1 (``with FakeMeta() as meta: meta.base_url``). Facts
from ../shared/reference/meta-access-expiry.md:

* OAuth authorization code + PKCE, refresh, revocation: the reference server's
  (:class:`ferry.servers.destination.oauth_server.OAuthServer`); every grant belongs to ``oauth.account``,
  the app-scoped user id (change it to log in as another user).
* ``GET /me?fields=id`` - who the token's user is.
* ``GET /v19.0/me/accounts?fields=id,user_access_expire_time`` - the pages the user reaches; each
  carries ``user_access_expire_time`` only inside the 30 days before the user's access ends
  (``access_ends[user]``), as Meta answers it.
* ``GET /v19.0/page-1/posts?after=&limit=`` - the page's posts, cursor-paginated; once the user's
  access has ended: 403 ``OAuthException`` (what a real transfer would hit).
* Webhooks: :meth:`FakeMeta.subscribe` runs the verification handshake against a callback,
  :meth:`FakeMeta.notify` POSTs a signed ``entry[].changes[]`` envelope (good, or with a wrong
  secret, repeated, padded past a size, naming any user).

Time is the test's: ``now`` (None: the real clock) decides the 30-day window and the end.
:func:`graph_connector` is a small source connector reading the posts with a stored credential,
declaring its provider's user-info endpoint and ``user_access_expire_time`` lookup.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.meta.webhooks import SIGNATURE_HEADER, signature_header
from ferry.servers.destination.oauth_server import OAuthServer, RegisteredClient
from ferry.servers.destination.tokens import TokenRegistry

from .server import ThreadedServer

__all__ = ["FakeMeta", "graph_connector"]

WINDOW = timedelta(days=30)


class FakeMeta:
    """The fake service; state in memory, knobs are plain attributes."""

    def __init__(self, *, app_id: str = "meta-app", app_secret: str = "meta-app-secret", user_id: str = "4444444444", posts: int = 5):
        self.app_id = app_id
        self.app_secret = app_secret
        self.registry = TokenRegistry()
        self.oauth = OAuthServer([RegisteredClient(app_id, app_secret)], registry=self.registry, account=user_id)
        self.access_ends: dict[str, datetime] = {}
        self.now: datetime | None = None
        self.posts = [self._post(n) for n in range(posts)]
        self.deliveries: list[int] = []
        self._server: ThreadedServer | None = None
        self.app = self._build_app()

    # -- server ---------------------------------------------------------------------------------

    def __enter__(self) -> FakeMeta:
        self._server = ThreadedServer(self.app).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "enter the fake first"
        return self._server.url

    # -- knobs ----------------------------------------------------------------------------------

    def clock(self) -> datetime:
        return self.now or datetime.now(timezone.utc)

    def add_posts(self, n: int) -> None:
        self.posts.extend(self._post(len(self.posts) + i) for i in range(n))

    @staticmethod
    def _post(n: int) -> dict:
        return {"id": f"page-1_{1000 + n}", "message": f"post number {n}", "created_time": f"2024-04-{1 + n % 28:02d}T10:00:00+0000"}

    # -- webhooks -------------------------------------------------------------------------------

    def subscribe(self, callback_url: str, verify_token: str, challenge: str = "1158201444") -> httpx.Response:
        """Meta's verification handshake; the callback must echo ``challenge``."""
        params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
        return httpx.get(callback_url, params=params, timeout=30)

    def expiry_body(self, *changes: tuple[str, object], pad_to: int = 0) -> bytes:
        """An envelope with one ``migration_expire_time`` change per ``(user_id, time)``."""
        entry = {
            "id": "0",
            "time": int(self.clock().timestamp()),
            "changes": [{"field": "migration_expire_time", "value": {"user_id": user, "migration_expire_time": when}} for user, when in changes],
        }
        document = {"object": "user", "entry": [entry]}
        if pad_to:
            document["padding"] = "x" * pad_to
        return json.dumps(document).encode()

    def notify(self, callback_url: str, body: bytes, *, secret: str | None = None) -> httpx.Response:
        """POST ``body`` signed with the app secret (or ``secret``, to forge one)."""
        headers = {SIGNATURE_HEADER: signature_header(body, secret or self.app_secret), "Content-Type": "application/json"}
        answer = httpx.post(callback_url, content=body, headers=headers, timeout=60)
        self.deliveries.append(answer.status_code)
        return answer

    # -- the app --------------------------------------------------------------------------------

    def _user(self, request: Request) -> str | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return self.registry.validate(token)

    @staticmethod
    def _error(message: str, code: int, status: int) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": "OAuthException", "code": code}}, status_code=status)

    def _build_app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        app.include_router(self.oauth.router)
        fake = self

        @app.get("/me")
        def me(request: Request):
            user = fake._user(request)
            if user is None:
                return fake._error("Invalid OAuth access token.", 190, 401)
            return {"id": user}

        @app.get("/v19.0/me/accounts")
        def accounts(request: Request):
            user = fake._user(request)
            if user is None:
                return fake._error("Invalid OAuth access token.", 190, 401)
            page = {"id": "page-1", "name": "The Shop"}
            ends = fake.access_ends.get(user)
            if ends is not None and ends <= fake.clock():
                return fake._error("(#200) The user has no access to this page any more.", 200, 403)
            if ends is not None and ends - fake.clock() <= WINDOW:
                page["user_access_expire_time"] = ends.isoformat()
            return {"data": [page], "paging": {"cursors": {"before": "a", "after": "a"}}}

        @app.get("/v19.0/page-1/posts")
        def posts(request: Request, after: str = "", limit: int = 3):
            user = fake._user(request)
            if user is None:
                return fake._error("Invalid OAuth access token.", 190, 401)
            ends = fake.access_ends.get(user)
            if ends is not None and ends <= fake.clock():
                return fake._error("(#200) The user has no access to this page any more.", 200, 403)
            start = int(after or 0)
            chunk = fake.posts[start : start + limit]
            paging = {"cursors": {"after": str(start + len(chunk))}}
            if start + len(chunk) < len(fake.posts):
                paging["next"] = f"{fake.base_url}/v19.0/page-1/posts?after={start + len(chunk)}&limit={limit}"
            return {"data": chunk, "paging": paging}

        return app


def graph_connector(fake: FakeMeta):
    """A source connector for the fake's page posts (``meta-graph:``), authorized through the fake."""
    from connectors.base import Cursor, Exporter, Page
    from connectors.errors import ItemError, ReauthRequired, RetryableError
    from connectors.models import SocialPost, Vertical, stable_id
    from connectors.registry import Capabilities, Connector, OAuthSpec

    class GraphCursor(Cursor):
        after: str

    class GraphExporter(Exporter):
        cursor_model = GraphCursor

        def __init__(self, auth):
            self.auth = auth

        def list_page(self, vertical, cursor):
            answer = httpx.get(
                f"{fake.base_url}/v19.0/page-1/posts",
                params={"after": cursor.after if cursor else "", "limit": 3},
                headers={"Authorization": f"Bearer {self.auth.access_token()}"},
                timeout=30,
            )
            if answer.status_code in (401, 403):
                raise ReauthRequired(f"Meta refused the access token (HTTP {answer.status_code})")
            if answer.status_code != 200:
                raise RetryableError(f"Meta answered {answer.status_code}")
            body = answer.json()
            items = tuple(
                SocialPost(id=stable_id("graph", p["id"]), title=p["id"], content=p["message"], published=datetime.strptime(p["created_time"], "%Y-%m-%dT%H:%M:%S%z"))
                for p in body["data"]
            )
            following = GraphCursor(after=body["paging"]["cursors"]["after"]) if body["paging"].get("next") else None
            return Page(items=items, next=following)

        def open_bytes(self, item):
            raise ItemError(item.id, "posts carry no bytes")

    base = fake.base_url
    return Connector(
        name="meta-graph",
        title="Meta Graph API page posts (test)",
        capabilities=Capabilities(exports=frozenset({Vertical.SOCIAL_POSTS})),
        make_exporter=lambda ctx: GraphExporter(ctx.auth),
        oauth=OAuthSpec(
            authorization_endpoint=f"{base}/oauth/authorize",
            token_endpoint=f"{base}/oauth/token",
            revocation_endpoint=f"{base}/oauth/revoke",
            scopes=("pages_show_list", "business_management"),
            userinfo_endpoint=f"{base}/me?fields=id",
            userinfo_account_field="id",
            access_expiry_url=f"{base}/v19.0/me/accounts?fields=id,user_access_expire_time",
        ),
    )
