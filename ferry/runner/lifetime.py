"""Tying a child process's life to its parent's, even when the parent is killed with ``kill -9``.

Two mechanisms, because each has a gap:

* the parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG)``): the kernel sends the child a
  signal when the thread that forked it dies. It is set by the child itself right after it
  starts, and survives ``exec``; if the parent died before that, :func:`die_with_parent` sees
  it (the parent pid changed) and exits at once.
* a watchdog thread that polls ``getppid()`` every second: it covers systems without prctl and
  a child whose signal handler does not end it promptly (it exits hard after a grace period).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import threading
import time

__all__ = ["die_with_parent", "set_parent_death_signal"]

PR_SET_PDEATHSIG = 1


def set_parent_death_signal(signum: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux only)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent: int, *, grace: float = 10.0, interval: float = 1.0) -> None:
    """Make this process end when process ``parent`` ends (signal first, then hard exit)."""
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)  # a graceful stop first
        time.sleep(grace)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
