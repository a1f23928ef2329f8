"""ferry's runner: one long-lived process per data directory that runs transfers for the CLI.

Why: a ``ferry`` command that ran its flow in-process paid, every time, for importing Prefect
(1-5 s) and for a temporary Prefect server (7-14 s to start, 2 s to stop). The runner pays that
once: it imports Prefect, owns one local Prefect server child (SQLite under
``<data_dir>/prefect``, or uses the operator's ``PREFECT_API_URL``), and runs the real
``transfer`` flow for each request on a thread of its own, so every run is still a Prefect flow
run the UI shows. The CLI validates the request without Prefect or a database driver, hands it
over a Unix socket, streams progress and prints the same summary and exit code as before.

Pieces, each with one job:

* :mod:`.paths` - where a runner lives (socket, state file, lock, log) and which runner a
  command belongs to (its key);
* :mod:`.protocol` - the JSON-lines messages between CLI and runner (bounded reads);
* :mod:`.client` - the CLI side: find or start the runner, send a request, read its events;
  imports neither Prefect nor SQLAlchemy;
* :mod:`.service` - runs one request (create or find the job, run the flow, report progress
  and the summary); the same code runs in-process when the runner is off (``FERRY_RUNNER=off``);
* :mod:`.server` - the runner process: socket, threads, idle timeout, shutdown;
* :mod:`.prefect_child` and :mod:`.lifetime` - the Prefect server child, which dies with the
  runner (parent-death signal plus a parent watchdog), even after ``kill -9``.

Lifetime (nothing ferry starts outlives it unbounded): the runner exits after
``runner_idle_seconds`` (default 300) with no request, at once when its data directory is
removed, on ``ferry server stop`` and on SIGTERM; its Prefect child dies with it. A client that
goes away (Ctrl-C, ``kill -9``) stops its run after the item in flight, leaving the job
resumable. See docs/runner.md.
"""
