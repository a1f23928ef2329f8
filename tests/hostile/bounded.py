"""Run a command with a time limit and measure the peak memory of that command alone.

``resource.getrusage(RUSAGE_CHILDREN)`` in the test process mixes every child it ever waited
for, so the command runs under a tiny Python wrapper whose only children are the command and
its own children; the wrapper prints their peak RSS on its last stderr line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

__all__ = ["BoundedRun", "run_bounded"]

_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.monotonic()\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'code': code, 'peak_kib': peak, 'seconds': time.monotonic() - t}), file=sys.stderr)\n"
)


@dataclass
class BoundedRun:
    returncode: int
    stdout: str
    stderr: str
    peak_mib: float
    seconds: float


def run_bounded(args: list[str], env: dict, timeout: float) -> BoundedRun:
    """Run ``args``; ``subprocess.TimeoutExpired`` if it outlives ``timeout`` (a hang fails the test)."""
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *args], env=env, capture_output=True, text=True, timeout=timeout)
    *rest, last = proc.stderr.rstrip("\n").split("\n")
    figures = json.loads(last)
    return BoundedRun(figures["code"], proc.stdout, "\n".join(rest), figures["peak_kib"] / 1024, figures["seconds"])
