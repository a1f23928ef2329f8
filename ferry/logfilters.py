"""Logging filters for the console (never for the Prefect API handler).

Why: when a task stops on one of ferry's own errors (a corrupt archive, a full destination), the
flow catches it, keeps the job resumable and prints a one-line reason in the summary. Prefect
also logs the task failure with a traceback; the Prefect UI should keep that, the terminal should
not repeat it as a wall of text. Unexpected exceptions still reach the console in full.
"""

from __future__ import annotations

import logging
import re

_EXPECTED_RE = re.compile(r"exception ([A-Za-z_][A-Za-z0-9_]*)[:(]")


def _ferry_error_names() -> set[str]:
    from connectors.errors import FerryError

    names, stack = set(), [FerryError]
    while stack:
        cls = stack.pop()
        names.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    return names


class ExpectedFailureFilter(logging.Filter):
    """Drops Prefect task/flow-run records about FerryErrors (reported by ferry itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("prefect.task_runs", "prefect.flow_runs", "prefect.task_engine", "prefect.flow_engine")):
            return True
        if record.exc_info and record.exc_info[1] is not None:
            from connectors.errors import FerryError

            return not isinstance(record.exc_info[1], FerryError)
        match = _EXPECTED_RE.search(record.getMessage())
        return not (match and match.group(1) in _ferry_error_names())
