"""Where a runner lives and which runner a command belongs to.

A runner serves one data directory *and one environment*: it runs every job with the
process environment it was started with (s3fs reads ``AWS_*``, Prefect reads ``PREFECT_*``), and
with the code it imported. So the key that names a runner hashes the data directory, the Python
executable, the environment variables that change how a transfer runs (:data:`ENV_PREFIXES`)
and a stamp of the installed code. A command whose key differs gets its own runner; the stale one
exits when idle. ferry's own settings (``FERRY_*``, ``ferry.toml``) are not part of the key: the
CLI reads them and sends them with each request.

Files: the socket lives in a private runtime folder (``$XDG_RUNTIME_DIR/ferry`` or
``/tmp/ferry-<uid>``, mode 0700; a Unix socket path must stay under 108 bytes, which a data
directory may not); the state file, lock and log live in ``<data_dir>/runner/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV_PREFIXES", "RunnerPaths", "runner_key", "runtime_dir", "PrivateDirError", "code_roots"]

#: Environment variables (by prefix) that a runner's jobs depend on: a difference means another runner.
ENV_PREFIXES = (
    "PREFECT_",
    "AWS_",
    "GOOGLE_",
    "AZURE_",
    "FSSPEC_",
    "SSL_CERT_",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "PYTHONPATH",
    "DO_NOT_TRACK",
)


class PrivateDirError(OSError):
    """The runtime folder exists but is not private to this user."""


def code_roots() -> list[Path]:
    """The folders of ferry's three packages (what the runner must import the same way)."""
    import connectors
    import flows

    import ferry

    return [Path(module.__file__).resolve().parent for module in (ferry, flows, connectors)]


def _code_stamp() -> str:
    """Newest modification time of ferry's Python files: edited code means a new runner."""
    newest = 0
    for root in code_roots():
        for folder, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith(".py"):
                    try:
                        newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
                    except OSError:
                        pass
    return str(newest)


def runner_key(data_dir: Path, environ: dict[str, str] | None = None) -> str:
    """The name of the runner that serves ``data_dir`` for this environment and code."""
    environ = dict(os.environ if environ is None else environ)
    env = sorted((k, v) for k, v in environ.items() if k.startswith(ENV_PREFIXES))
    blob = json.dumps([str(Path(data_dir).resolve()), sys.executable, env, _code_stamp()])
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def runtime_dir() -> Path:
    """A folder only this user can enter, for sockets (created 0700; refused if not private)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(base) / "ferry" if base and Path(base).is_dir() else Path(tempfile.gettempdir()) / f"ferry-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except FileExistsError:
        pass
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PrivateDirError(f"{folder} must be a folder owned by you with mode 0700 (ferry keeps its runner's socket there)")
    return folder


@dataclass(frozen=True)
class RunnerPaths:
    """The files of one runner."""

    data_dir: Path
    key: str

    @property
    def folder(self) -> Path:
        return self.data_dir / "runner"

    @property
    def socket(self) -> Path:
        return runtime_dir() / f"{self.key}.sock"

    @property
    def state(self) -> Path:
        """JSON: pid, socket, Prefect API URL, idle timeout, start time (``ferry server status``)."""
        return self.folder / f"{self.key}.json"

    @property
    def lock(self) -> Path:
        """Held (flock) by the live runner for its whole life: at most one runner per key."""
        return self.folder / f"{self.key}.lock"

    @property
    def log(self) -> Path:
        return self.folder / f"{self.key}.log"

    @classmethod
    def of(cls, data_dir: Path, environ: dict[str, str] | None = None) -> "RunnerPaths":
        data_dir = Path(data_dir).resolve()
        return cls(data_dir, runner_key(data_dir, environ))

    @classmethod
    def all_in(cls, data_dir: Path) -> list["RunnerPaths"]:
        """Every runner that left a state file in ``data_dir`` (any environment)."""
        folder = Path(data_dir).resolve() / "runner"
        return [cls(Path(data_dir).resolve(), p.stem) for p in sorted(folder.glob("*.json"))]
