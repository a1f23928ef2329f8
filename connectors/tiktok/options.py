"""The TikTok source's options (``-o tiktok.KEY=VALUE``). Light to import: the registry reads it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from ..readlimits import ReadLimitOptions
from .scopes import parse_categories

if TYPE_CHECKING:
    from .lifecycle import LifecycleOptions

__all__ = ["TikTokOptions"]


class TikTokOptions(ReadLimitOptions):
    """What a transfer from TikTok's Data Portability API may be told."""

    connector_name = "tiktok"

    categories: tuple[str, ...] = Field(
        ("all_data",), description="what to ask TikTok for: all_data, activity, video, profile, direct_message"
    )
    data_format: Literal["json", "text"] = Field("json", description="json (parsed into verticals) or text (every file a blob)")
    ongoing: bool = Field(False, description="a recurring transfer: needs the .ongoing scopes")
    scopes: tuple[str, ...] | None = Field(
        None, description="the scopes the credential was granted, when ferry cannot tell (a category without its scope is refused at once)"
    )
    api_base: str = Field("https://open.tiktokapis.com", description="the API host")
    poll_interval: float = Field(60.0, ge=0, description="first wait in seconds while TikTok prepares the data; doubles")
    max_poll_interval: float = Field(3600.0, ge=0, description="ceiling of that wait, in seconds")
    webhook: bool = Field(False, description="ferry serve-webhooks receives TikTok's callbacks: polling waits the longest interval")
    max_rerequests: int = Field(3, ge=0, description="how often an expired data request is asked again")
    page_size: int = Field(200, ge=1, description="items per exported page")

    @field_validator("categories", mode="before")
    @classmethod
    def _categories(cls, value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
        return tuple(category.value for category in parse_categories(value))  # ConfigError names a bad one

    @field_validator("scopes", mode="before")
    @classmethod
    def _scopes(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.replace(" ", ",").split(",") if part.strip()) or None
        return value

    @field_validator("data_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def lifecycle(self) -> LifecycleOptions:
        from .lifecycle import LifecycleOptions  # imports the HTTP client: only when a source is built

        return LifecycleOptions(
            categories=self.categories,
            data_format=self.data_format,
            poll_interval=self.poll_interval,
            max_poll_interval=self.max_poll_interval,
            webhook=self.webhook,
            max_rerequests=self.max_rerequests,
        )
