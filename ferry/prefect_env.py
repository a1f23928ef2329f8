"""Quiet, fast Prefect defaults, applied before Prefect is first imported.

Why: ephemeral Prefect prints telemetry and shutdown tracebacks and stalls on SQLite locks with
its default settings (measured; see README "Prefect settings"). Every value is a default only:
an operator's own ``PREFECT_*`` environment wins. The UI is not switched off here: a temporary
(ephemeral) server has none anyway, and the runner's server serves it
(:mod:`ferry.runner.prefect_child`).
"""

from __future__ import annotations

import os
from pathlib import Path

LOGGING_CONFIG = Path(__file__).with_name("prefect-logging.yml")


def quiet_prefect_defaults(prefect_home: Path | None = None, *, log_level: str = "WARNING") -> None:
    """Set PREFECT_* defaults in ``os.environ`` (only those not already set)."""
    defaults = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",  # Prefect's client-side telemetry notice and events to Prefect Inc.
        "PREFECT_LOGGING_LEVEL": log_level,
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        "PREFECT_LOGGING_CONFIG_PATH": str(LOGGING_CONFIG),
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    }
    if prefect_home is not None:
        defaults["PREFECT_HOME"] = str(prefect_home.resolve())
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
