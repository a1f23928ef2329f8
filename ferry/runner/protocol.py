"""The messages between the CLI and the runner: one JSON object per line, both ways.

Requests (client -> runner), the first line of a connection:

* ``{"op": "hello"}`` - the runner answers ``{"event": "hello", ...}`` (pid, Prefect API URL,
  running jobs) and closes;
* ``{"op": "transfer", "settings": {...}, "source": ..., "destination": ..., "types": [...],
  "options": {...}, "source_credential_id": ..., "destination_credential_id": ...,
  "progress": bool}`` - create the job and run it;
* ``{"op": "resume", "settings": {...}, "job": "3f2a", "force": bool, "retry_failed": bool,
  "progress": bool}`` - run a stored job again;
* ``{"op": "shutdown"}`` - stop every run after its item in flight, then exit.

While a run goes on the client may send ``{"op": "stop"}`` (Ctrl-C); closing the connection
means the same (the client is gone).

Events (runner -> client): ``job`` (its id, endpoints, types), ``note`` (a line to print),
``progress`` (a batch of ``[kind, value]`` pairs, see :mod:`flows.progress`), then exactly one
of ``done`` (the summary, whether the run was interrupted, seconds until a WAITING source is
due) or ``error`` (an exit code and one line).

Reads are bounded (:data:`MAX_LINE`): a line longer than that is an error, never a buffer that
grows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

__all__ = ["MAX_LINE", "ProtocolError", "encode", "read_message", "settings_payload", "settings_from_payload"]

#: Longest message either side accepts (a summary lists at most 50 errors and 50 problems).
MAX_LINE = 4 * 1024 * 1024


class ProtocolError(Exception):
    """The other side sent something that is not a message."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8", "surrogatepass") + b"\n"


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next message, or None at end of stream."""
    line = stream.readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE or not line.endswith(b"\n"):
        raise ProtocolError("message too long or cut off")
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


def settings_payload(settings) -> dict[str, Any]:
    """The command's settings as plain values, so the runner runs the job with exactly these.

    Paths are made absolute here (the runner does not share the command's directory). The
    secret key travels only over the runner's private socket (0600, same user).
    """
    data = settings.model_dump(mode="json", exclude={"secret_key"})
    data["data_dir"] = str(Path(settings.data_dir).resolve())
    if settings.key_file is not None:
        data["key_file"] = str(Path(settings.key_file).resolve())
    if settings.secret_key is not None:
        data["secret_key"] = settings.secret_key.get_secret_value()
    return data


def settings_from_payload(data: dict[str, Any]):
    """Rebuild :class:`flows.settings.Settings` from :func:`settings_payload` (env and files ignored)."""
    from flows.settings import Settings, SettingsError

    try:
        return Settings.model_validate(data)
    except ValueError as exc:
        raise SettingsError(f"bad settings from the command: {exc}") from None
