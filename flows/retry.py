"""The engine's one retry policy: capped, jittered backoff that honours Retry-After, on a budget.

Connectors classify (``RetryableError`` with an optional ``retry_after`` for a whole call,
``ItemOutcome.failed(..., retryable=True)`` or ``RetryableItemError`` for one item); only the
engine waits and tries again, here. Nothing else in ferry sleeps to retry.

Budgets: each page may be attempted ``page_attempts`` times, and a job may spend at most
``job_retries`` retries and ``job_wait_seconds`` of waiting in all. A wait the other side asked
for (Retry-After) is honoured exactly and counts against the job's budget only: being told to
slow down is not a failed attempt. Past a budget the job stops,
resumable, with the reason (:class:`RetriesExhausted`); a single wait longer than
``longest_wait_seconds`` (a destination asking to come back in an hour) also stops the job
rather than holding a worker, and says when to resume.

The clock is injected (:class:`Clock`), so tests advance time instead of sleeping.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from connectors.errors import FatalError

__all__ = ["Clock", "SystemClock", "RetryPolicy", "RetryBudget", "RetriesExhausted"]


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; return False when woken early by a stop request."""


class SystemClock:
    """Real time; ``sleep`` returns early (False) when ``stop`` is set (Ctrl-C, cancel)."""

    def __init__(self, stop: threading.Event | None = None):
        self.stop = stop or threading.Event()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> bool:
        return not self.stop.wait(max(0.0, seconds))


class RetriesExhausted(FatalError):
    """The retry budget is spent; the job stops resumable with the last error as the reason."""


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff delays: ``min(cap, base * factor**n)`` with +-``jitter`` spread; Retry-After when given."""

    base_seconds: float = 0.5
    factor: float = 2.0
    cap_seconds: float = 30.0
    jitter: float = 0.25
    page_attempts: int = 6
    job_retries: int = 100
    job_wait_seconds: float = 900.0
    longest_wait_seconds: float = 300.0

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0-based): what the server asked for, or backoff."""
        if retry_after is not None:
            return max(retry_after, 0.05)
        backoff = min(self.cap_seconds, self.base_seconds * self.factor**retry)
        return backoff * (1.0 + rng.uniform(-self.jitter, self.jitter))


@dataclass
class RetryBudget:
    """What a job may still spend on retries; shared by every page and step of the job."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)
    retries: int = 0
    waited: float = 0.0
    log: list[tuple[float, str]] = field(default_factory=list)  # (seconds waited, why): shown in run logs

    def wait(self, attempt: int, reason: str, retry_after: float | None = None) -> None:
        """Wait before page attempt ``attempt + 1`` (``attempt`` counts from 1) or raise.

        Callers count an attempt only when the wait was not asked for (``retry_after`` None).

        Raises:
            RetriesExhausted: the page or job budget is spent, or the wait asked for is longer
                than ``longest_wait_seconds``; the message names the attempts and the reason.
            InterruptedError: a stop was requested while waiting.
        """
        policy = self.policy
        if retry_after is None and attempt >= policy.page_attempts:
            raise RetriesExhausted(f"gave up after {attempt} attempts: {reason}")
        if self.retries >= policy.job_retries:
            raise RetriesExhausted(f"gave up: the job used its {policy.job_retries} retries; last: {reason}")
        if retry_after is not None and retry_after > policy.longest_wait_seconds:
            raise RetriesExhausted(f"{reason}; asked to wait {retry_after:.0f} s, resume later with `ferry resume`")
        seconds = policy.delay(attempt - 1, retry_after, self.rng)
        if self.waited + seconds > policy.job_wait_seconds:
            raise RetriesExhausted(f"gave up after waiting {self.waited:.0f} s in retries; last: {reason}")
        self.retries += 1
        self.waited += seconds
        self.log.append((seconds, reason))
        if not self.clock.sleep(seconds):
            raise InterruptedError("stop requested while waiting to retry")
