"""The runner's Prefect server: Prefect's API and UI under uvicorn, on a socket the runner opened.

Started by :mod:`ferry.runner.server` as ``python -m ferry.runner.prefect_child FD PARENT``:
it serves on the listening socket inherited as file descriptor FD (so the runner knows the port
before the child starts, and no other process can take it in between), and dies with the runner
(:func:`ferry.runner.lifetime.die_with_parent`), with SQLite under ``PREFECT_HOME``
(``<data_dir>/prefect``).

What it runs (:func:`child_environment`): the API, the UI (so ``ferry server status`` can point
a browser at the runs), and the services Prefect's own temporary server runs: the task-run
recorder, event persister, triggers and actions, the event and log streams. The services that
serve deployments and workers (scheduler, late runs, foreman, repossessor, cancellation clean-up,
pause expirations, clean-up reconciler, database vacuum) are off: only the runner uses this
server, and it runs flows in its own process. Block types are not registered on start (nothing
in ferry uses Prefect blocks; it cost 1-2 s on a fresh database). Each of these is a default: a
``PREFECT_*`` variable the operator set wins.

The UI's files are copied by Prefect on the first start of a Prefect install (about 17 MB, half a
second, into Prefect's package folder, then reused); the UI asks the API at the URL given in
``PREFECT_SERVER_UI_API_URL``, which is this server's own port.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping

from ferry.runner.lifetime import die_with_parent

__all__ = ["child_environment", "ui_enabled", "OFF_SERVICES"]

#: Prefect's server services that only deployments and workers need (ferry runs flows itself).
OFF_SERVICES = (
    "SCHEDULER",
    "LATE_RUNS",
    "FOREMAN",
    "REPOSSESSOR",
    "CANCELLATION_CLEANUP",
    "PAUSE_EXPIRATIONS",
    "CLEANUP_RECONCILER",
    "DB_VACUUM",
)


def child_environment(base: Mapping[str, str], home: str, port: int) -> dict[str, str]:
    """The environment of the runner's Prefect server on 127.0.0.1:``port`` (see the module doc)."""
    env = dict(base)
    env.pop("PREFECT_API_URL", None)  # this process is the server
    env.pop("PREFECT__SERVER_EPHEMERAL", None)  # ephemeral mode has no UI
    env["PREFECT_HOME"] = home
    env["PREFECT__SERVER_FINAL"] = "1"
    env["PREFECT_SERVER_UI_API_URL"] = f"http://127.0.0.1:{port}/api"  # the UI's own server, not :4200
    if "PREFECT_SERVER_UI_ENABLED" not in env and "PREFECT_UI_ENABLED" not in env:
        env["PREFECT_SERVER_UI_ENABLED"] = "true"
    if "PREFECT_API_BLOCKS_REGISTER_ON_START" not in env:
        env.setdefault("PREFECT_SERVER_REGISTER_BLOCKS_ON_START", "false")
    for service in OFF_SERVICES:
        env.setdefault(f"PREFECT_SERVER_SERVICES_{service}_ENABLED", "false")
    return env


def ui_enabled(env: Mapping[str, str]) -> bool:
    """Whether the server started with ``env`` serves the UI (Prefect's two names for it)."""
    value = env.get("PREFECT_SERVER_UI_ENABLED", env.get("PREFECT_UI_ENABLED", "true"))
    return value.strip().lower() not in ("0", "false", "no", "off", "f", "n")


def main(argv: list[str]) -> int:
    fd, parent = int(argv[0]), int(argv[1])
    die_with_parent(parent)
    wall, cpu = time.perf_counter(), time.process_time()
    import uvicorn
    from prefect.server.api.server import create_app

    app = create_app(final=True)
    # one line in the runner's log: where a start's time goes (the rest is migrations and services)
    print(
        f"ferry.runner.prefect: Prefect's server imported and built in {time.perf_counter() - wall:.1f} s "
        f"({time.process_time() - cpu:.1f} s CPU), pid {os.getpid()}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, fd=fd, log_level="error", lifespan="on")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
