"""ferry's webhook receiver (FastAPI): TikTok's "data ready" callback wakes a waiting transfer.

See :func:`create_webhook_app`. ``ferry serve-webhooks`` runs it with uvicorn.
"""

from .app import WEBHOOK_PATH, ReadyHook, SecretLookup, create_webhook_app, static_secret_lookup

__all__ = ["WEBHOOK_PATH", "ReadyHook", "SecretLookup", "create_webhook_app", "static_secret_lookup"]
