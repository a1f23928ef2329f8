"""What a provider says about the user behind a token: who they are, and when their access ends.

Why: a provider's notices name the user by its own id (Meta's app-scoped ``user_id``, TikTok's
``open_id``), so ferry records that id at login to find the credential a notice is about; and
some providers answer, per asset, when the user's access ends (Meta's
``user_access_expire_time``, returned only inside the 30 days before), which the daily
maintenance flow asks for. Both are declared per connector on its
:class:`~connectors.registry.OAuthSpec` and stored with the credential's public client config.

* :func:`dig` - a value at a dotted path (``data.user.open_id``) of a JSON answer;
* :func:`fetch_account` - the user id from a user-info endpoint;
* :func:`fetch_access_end` - the earliest ``user_access_expire_time`` an endpoint answers
  (on the object itself, or on each item of its ``data`` list, as Graph API edges do);
* :func:`parse_time` - ISO 8601 or Unix seconds, as providers send times.

Errors follow :mod:`connectors.errors`: 429/5xx/unreachable -> RetryableError, 401/403 ->
ReauthRequired, anything else -> FatalError. Messages name the endpoint, never the token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import FatalError, ReauthRequired, RetryableError
from ..retry_after import retry_after_seconds

__all__ = ["MAX_ANSWER_BYTES", "dig", "fetch_access_end", "fetch_account", "parse_time"]

#: A user-info or expiry answer is a small JSON object; a larger one is refused unread.
MAX_ANSWER_BYTES = 1024 * 1024


def dig(data: Any, path: str | None) -> Any:
    """The value at dotted ``path`` in ``data`` (None when any step is missing)."""
    if not path:
        return None
    for part in path.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def parse_time(value: Any, where: str) -> datetime:
    """An aware UTC time from ISO 8601 (``Z`` or an offset; naive = UTC) or Unix seconds.

    Raises:
        ValueError: naming ``where`` and the value's type (never echoing a huge value).
    """
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a time, got a boolean")
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12):
        seconds = float(value)
        if not 0 <= seconds < 32503680000:  # 1970 .. 3000
            raise ValueError(f"{where}: not a plausible Unix time (seconds between 1970 and 3000 expected)")
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    if isinstance(value, str) and len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{where}: {value!r} is neither ISO 8601 nor Unix seconds") from None
        return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ValueError(f"{where}: expected an ISO 8601 time or Unix seconds, got {type(value).__name__}")


def _get_json(url: str, access_token: str, *, what: str, timeout: float, http_options: Mapping[str, Any]) -> Any:
    shown = httpx.URL(url).copy_with(query=None)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, **dict(http_options)) as http:
            with http.stream("GET", url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    raise RetryableError(f"{what} at {shown} answered {status}", retry_after=retry_after_seconds(response.headers.get("Retry-After")))
                if status in (401, 403):
                    raise ReauthRequired(f"{what} at {shown} refused the access token (HTTP {status})")
                if status != 200:
                    raise FatalError(f"{what} at {shown} answered HTTP {status}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise FatalError(f"{what} at {shown} answered more than {MAX_ANSWER_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise RetryableError(f"{what} at {shown} failed: {type(exc).__name__}") from None
    try:
        return json.loads(bytes(body))
    except (ValueError, RecursionError):
        raise FatalError(f"{what} at {shown} did not answer JSON") from None


def fetch_account(
    url: str, access_token: str, field: str = "sub", *, timeout: float = 20.0, http_options: Mapping[str, Any] | None = None
) -> str:
    """The provider's id of the user behind ``access_token``, from its user-info endpoint.

    Raises:
        FatalError: the answer has no ``field`` (names it); see the module docstring for others.
    """
    answer = _get_json(url, access_token, what="the user-info endpoint", timeout=timeout, http_options=http_options or {})
    value = dig(answer, field)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise FatalError(f"the user-info endpoint answered no {field!r}")
    return str(value).strip()[:256]


def fetch_access_end(
    url: str,
    access_token: str,
    field: str = "user_access_expire_time",
    *,
    account: str | None = None,
    timeout: float = 20.0,
    http_options: Mapping[str, Any] | None = None,
) -> datetime | None:
    """When the user's access ends, as the provider answers it (the earliest of its assets).

    ``{account}`` in ``url`` is replaced by the user id. The field is read on the answer itself
    and on each item of its ``data`` list; None when the provider announces no end (Meta answers
    the field only inside the 30 days before it).

    Raises:
        FatalError: a value that is not a time (names the field); see the module docstring.
    """
    if "{account}" in url:
        if not account:
            raise FatalError(f"{field} lookup needs the provider's user id, and this credential has none")
        url = url.replace("{account}", quote(account, safe=""))
    answer = _get_json(url, access_token, what=f"the {field} lookup", timeout=timeout, http_options=http_options or {})
    candidates = [answer] + (list(answer.get("data") or []) if isinstance(answer, Mapping) and isinstance(answer.get("data"), list) else [])
    ends = []
    for n, item in enumerate(candidates):
        value = dig(item, field)
        if value is None:
            continue
        where = field if n == 0 else f"data[{n - 1}].{field}"
        try:
            ends.append(parse_time(value, where))
        except ValueError as exc:
            raise FatalError(str(exc)) from None
    return min(ends) if ends else None
