"""Success and failure rates per source -> destination pair, from the job store.

Meta's testing guidance for transfer partners sets the bar at **1% failed items**: a pair whose
item failure rate is above :data:`FAILURE_BAR` is flagged. Rates are over items (imported and
skipped count as delivered), with job outcomes alongside, for every job active in the window
(``updated_at`` within it). Pairs are named by connector (``meta -> folder``), so all of one
service's transfers pool into one line whatever the account or path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta


from .store import JobState, JobStore, Ledger, utcnow

__all__ = ["FAILURE_BAR", "PairStats", "pair_report", "pair_name"]

FAILURE_BAR = 0.01


@dataclass
class PairStats:
    """Figures of one source -> destination connector pair."""

    source: str
    destination: str
    jobs: int = 0
    jobs_complete: int = 0
    jobs_failed: int = 0
    jobs_other: int = 0
    delivered: int = 0
    failed: int = 0
    bytes: int = 0
    recurring: set[str] = field(default_factory=set)

    @property
    def items(self) -> int:
        return self.delivered + self.failed

    @property
    def failure_rate(self) -> float:
        return self.failed / self.items if self.items else 0.0

    @property
    def success_rate(self) -> float:
        return self.delivered / self.items if self.items else 1.0

    @property
    def flagged(self) -> bool:
        return self.failure_rate > FAILURE_BAR

    def as_dict(self) -> dict:
        out = asdict(self)
        out["recurring"] = sorted(self.recurring)
        out.update(items=self.items, failure_rate=self.failure_rate, success_rate=self.success_rate, flagged=self.flagged)
        return out


def pair_name(endpoint: str, role: str) -> str:
    """The connector name of an endpoint string (``meta:~/fb.zip`` -> ``meta``)."""
    try:
        from connectors import registry

        return registry.parse_endpoint(endpoint, role=role).connector.name
    except Exception:  # a connector no longer installed: fall back to the prefix
        prefix, sep, rest = endpoint.partition(":")
        return prefix if sep and not rest.startswith("//") else endpoint


def pair_report(engine, since: timedelta | datetime, *, now: datetime | None = None) -> list[PairStats]:
    """Per-pair figures for jobs active since ``since`` (a datetime, or a window before now).

    Sorted with flagged pairs first, then by item count.
    """
    now = now or utcnow()
    start = since if isinstance(since, datetime) else now - since
    jobs = JobStore(engine).updated_since(start)
    figures = Ledger(engine).figures_of([job.id for job in jobs])
    pairs: dict[tuple[str, str], PairStats] = {}
    names: dict[tuple[str, str], str] = {}
    for job in jobs:
        src = names.setdefault((job.source, "source"), pair_name(job.source, "source"))
        dst = names.setdefault((job.destination, "destination"), pair_name(job.destination, "destination"))
        stats = pairs.setdefault((src, dst), PairStats(src, dst))
        stats.jobs += 1
        if job.state == JobState.COMPLETE:
            stats.jobs_complete += 1
        elif job.state == JobState.FAILED:
            stats.jobs_failed += 1
        else:
            stats.jobs_other += 1
        total = figures[job.id].total if job.id in figures else None
        if total is not None:
            stats.delivered += total.imported + total.skipped
            stats.failed += total.failed
            stats.bytes += total.bytes
        if job.recurring_id:
            stats.recurring.add(job.recurring_id)
    return sorted(pairs.values(), key=lambda p: (not p.flagged, -p.items, p.source, p.destination))
