"""``ferry conformance``: check a DTP Generic Importer destination against the wire contract.

See :func:`run_conformance` and docs/generic-importer.md.
"""

from .runner import FAILURE_RATE_BAR, CheckResult, ConformanceReport, run_conformance

__all__ = ["FAILURE_RATE_BAR", "CheckResult", "ConformanceReport", "run_conformance"]
