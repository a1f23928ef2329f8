"""TikTok Data Portability API shapes on the wire (DTOs), nothing else.

Every data call answers ``{"data": {...}, "error": {"code", "message", "log_id"}}``; only
``error.code == "ok"`` is success, whatever the HTTP status. Webhooks post an envelope whose
``content`` is itself a JSON string. Models ignore unknown fields: TikTok adds fields without notice.
"""

from __future__ import annotations

import enum
import json

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "RequestStatus",
    "ApiError",
    "Envelope",
    "AddResult",
    "RequestInfo",
    "WebhookEnvelope",
    "DOWNLOAD_READY",
    "AUTHORIZATION_REMOVED",
    "ADD_FIELDS",
    "CHECK_FIELDS",
]

ADD_FIELDS = "request_id"
CHECK_FIELDS = "request_id,status,apply_time,collect_time,data_format,category_selection_list"

DOWNLOAD_READY = "portability.download.ready"
AUTHORIZATION_REMOVED = "authorization.removed"


class RequestStatus(enum.StrEnum):
    """Documented values of a data request's ``status``; anything else is an error."""

    PENDING = "pending"  # TikTok is still collecting
    DOWNLOADING = "downloading"  # ready: the zip can be downloaded (for 4 days)
    EXPIRED = "expired"  # 4 days after ready; ask again
    CANCELLED = "cancelled"


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ApiError(_Wire):
    code: str = "ok"
    message: str = ""
    log_id: str = ""


class Envelope(_Wire):
    data: dict = Field(default_factory=dict)
    error: ApiError = Field(default_factory=ApiError)

    @field_validator("data", mode="before")
    @classmethod
    def _none_is_empty(cls, value):
        return value or {}


class AddResult(_Wire):
    request_id: int


class RequestInfo(_Wire):
    """The Check call's ``data``. ``status`` stays a plain string so unknown values can be named."""

    request_id: int
    status: str
    apply_time: int | None = None
    collect_time: int | None = None
    data_format: str | None = None
    category_selection_list: list[str] = Field(default_factory=list)


class WebhookEnvelope(_Wire):
    """A webhook delivery; :attr:`payload` is ``content`` parsed (``{}`` when it is not JSON)."""

    client_key: str = ""
    event: str
    create_time: int = 0
    user_openid: str | None = None
    content: str = ""

    @property
    def payload(self) -> dict:
        try:
            value = json.loads(self.content) if self.content else {}
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
