"""The runner's Prefect server: Prefect's API app under uvicorn, on a socket the runner opened.

Started by :mod:`ferry.runner.server` as ``python -m ferry.runner.prefect_child FD PARENT``:
it serves on the listening socket inherited as file descriptor FD (so the runner knows the port
before the child starts, and no other process can take it in between), and dies with the runner
(:func:`ferry.runner.lifetime.die_with_parent`). It runs Prefect's app the way Prefect's own
temporary server does (``create_app(ephemeral=True)``: the API, the task-run recorder and event
services, no UI), with SQLite under ``PREFECT_HOME`` (``<data_dir>/prefect``).
"""

from __future__ import annotations

import sys

from ferry.runner.lifetime import die_with_parent


def main(argv: list[str]) -> int:
    fd, parent = int(argv[0]), int(argv[1])
    die_with_parent(parent)
    import uvicorn
    from prefect.server.api.server import create_app

    uvicorn.run(create_app(ephemeral=True, final=True), fd=fd, log_level="error", lifespan="on")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
