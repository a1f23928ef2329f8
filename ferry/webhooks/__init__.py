"""ferry's webhook receiver (FastAPI): TikTok's "data ready" callback wakes a waiting transfer.

See :func:`create_webhook_app`. ``ferry serve-webhooks`` runs it with uvicorn.
"""

from .app import MAX_BODY_BYTES, WEBHOOK_PATH, ClientSecrets, ReadyHook, create_webhook_app

__all__ = ["MAX_BODY_BYTES", "WEBHOOK_PATH", "ClientSecrets", "ReadyHook", "create_webhook_app"]
