"""``ferry serve-webhooks``: run the webhook receiver (TikTok "data ready" and "authorization removed").

The wake-up hook: if ``flows.wakeups`` defines ``on_source_ready(wake_key: str, payload: dict)``,
it is called for each ready event (the flows resume the transfer waiting on ``wake_key``);
otherwise each wake-up is appended as a JSON line to ``<data_dir>/webhooks/wakeups.jsonl``.
Polling stays the fallback either way.

``authorization.removed`` (the user disconnected ferry in TikTok) goes to
:func:`flows.reauth.on_authorization_removed`: the credentials of that ``open_id`` (recorded at
login) issued to that app become NEEDS_REAUTH, and so do the transfers waiting on them.
"""

from __future__ import annotations

import typer

#: "module:function" of the flows' wake-up hook, used when importable.
ON_READY_TARGET = "flows.wakeups:on_source_ready"


def _lazy_context(settings):
    """The command's one context, built on first use (the store is not opened before an event)."""
    import threading

    held: dict = {}
    lock = threading.Lock()

    def get():
        with lock:
            if "ctx" not in held:
                from flows.context import open_context

                held["ctx"] = open_context(settings)
        return held["ctx"]

    return get


def _resolve_on_ready(settings, context):
    """The flows' hook when it exists (bound to the command's context), else a recorder writing
    wakeups.jsonl under the data dir."""
    import importlib

    module_name, _, attr = ON_READY_TARGET.partition(":")
    try:
        hook = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        path = settings.data_dir / "webhooks" / "wakeups.jsonl"
        return wakeup_recorder(path), str(path)

    def on_ready(wake_key: str, payload: dict):
        return hook(wake_key, payload, ctx=context())

    return on_ready, ON_READY_TARGET


def _on_removed(context):
    """The ``authorization.removed`` hook: marks the user's TikTok credentials dead."""

    def removed(open_id: str, payload: dict) -> None:
        from flows.reauth import on_authorization_removed

        on_authorization_removed(open_id, payload, connector="tiktok", credentials=context().credentials)

    return removed


def wakeup_recorder(path):
    """An ``on_ready`` hook that appends each wake-up as a JSON line to ``path`` (thread-safe)."""
    import json
    import logging
    import threading
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    log = logging.getLogger("ferry.webhooks")

    def record(wake_key: str, payload: dict) -> None:
        line = json.dumps({"wake_key": wake_key, "received": time.time(), **payload}, sort_keys=True)
        with lock, path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        log.info("source ready: %s", wake_key)

    return record


def register(app: typer.Typer) -> None:
    @app.command("serve-webhooks")
    def serve_webhooks(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (put HTTPS in front)."),
        port: int = typer.Option(8787, "--port", help="Port to listen on."),
        client_key: str = typer.Option(
            ..., "--client-key", envvar="FERRY_TIKTOK_CLIENT_KEY", help="TikTok app client key."
        ),
        client_secret: str = typer.Option(
            ...,
            "--client-secret",
            envvar="FERRY_TIKTOK_CLIENT_SECRET",
            help="TikTok app client secret (signs webhooks); prefer the environment variable.",
            show_default=False,
        ),
    ) -> None:
        """Receive TikTok's data-ready webhooks and wake the waiting transfers."""
        from ferry.servers.tiktok_webhooks import WEBHOOK_PATH, create_webhook_app

        from ._common import load, run_server

        settings = load()  # quiet Prefect defaults: no telemetry, no analytics from a temporary server
        context = _lazy_context(settings)
        on_ready, where = _resolve_on_ready(settings, context)
        web = create_webhook_app(on_ready, {client_key: client_secret}, on_authorization_removed=_on_removed(context))
        typer.echo(f"ferry webhooks on http://{host}:{port}{WEBHOOK_PATH}; wake-ups go to {where}")
        run_server(web, host=host, port=port, log_level=settings.log_level)
