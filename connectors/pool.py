"""A bounded pool of jobs whose results come back in the order they were handed in.

Used by importers that send several items at once: the folder destination's byte copies and the
Generic Importer's requests. Why: copying one file at a time leaves a remote store's round trips
idle (rclone copies four files at once by default, ``--transfers``). But two things must not
depend on which copy finishes first: the names items get (the importer claims them in page order before handing a copy over)
and the order of outcomes (the framework records them in page order, and so does the connector
kit). So the importer plans each item on its own thread, gives only the byte copy to this pool,
and takes the results back in submission order; a slow first file delays only when its
neighbours' outcomes are *reported*, never the copies themselves.

Stopping: a job that raises (jobs raise only what stops the call: FatalError, DestinationFull,
ReauthRequired, RetryableError) is recorded in :attr:`OrderedPool.stopped`; the caller stops
submitting, :meth:`OrderedPool.drain` lets the copies in flight finish and hands back their
results, then the caller raises. Closing the pool early (the caller was abandoned or
interrupted) sets a flag that copies poll between chunks through :meth:`OrderedPool.check`, so
they stop at the next chunk and clean up their temporary files.

With one worker nothing runs on another thread: each job runs inside :meth:`submit`, which is
exactly the sequential behaviour. A job submitted ``inline`` runs there too, whatever the pool
size (small local copies: see :meth:`OrderedPool.submit`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

__all__ = ["OrderedPool", "Abandoned"]

T = TypeVar("T")


class Abandoned(Exception):
    """Raised inside a running job by :meth:`OrderedPool.check` once the pool is closing."""


class OrderedPool(Generic[T]):
    """Runs up to ``workers`` jobs at once and yields their results in submission order.

    Args:
        workers: how many jobs may run at the same time (1: run each job in :meth:`submit`).

    Not thread-safe itself: one thread submits and collects; only the jobs run elsewhere.
    """

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.stopped: BaseException | None = None  # the first exception a job raised
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="ferry-pool") if workers > 1 else None
        self._queue: deque[Future[T]] = deque()  # results in submission order
        self._running: set[Future[T]] = set()
        self._abandon = threading.Event()

    # -- feeding --------------------------------------------------------------------------

    def put(self, result: T) -> None:
        """Queue a result the caller computed itself, behind the jobs submitted before it."""
        future: Future[T] = Future()
        future.set_result(result)
        self._queue.append(future)

    def submit(self, job: Callable[[], T], *, inline: bool = False) -> bool:
        """Start ``job``, first waiting for a free worker when all are busy.

        ``inline``: run it here, on the calling thread, now (its result still comes back in
        submission order, behind the jobs in flight). For jobs so short that handing them to a
        worker costs more than running them: a small local file is a dozen system calls, each
        a release and re-acquisition of the GIL that four threads fight over.

        Returns False, without starting it, once a job has failed (:attr:`stopped`): the caller
        then stops feeding the pool; the job's item gets no result and is redone later.
        """
        if self._executor is None or inline:
            self._reap()
            if self.stopped is not None:
                return False
            future: Future[T] = Future()
            try:
                future.set_result(job())
            except Exception as exc:  # recorded like a worker's, raised by the caller after draining
                future.set_exception(exc)
                self._note(future)
            self._queue.append(future)
            return True
        self._reap()
        while self.stopped is None and len(self._running) >= self.workers:
            wait(self._running, return_when=FIRST_COMPLETED)
            self._reap()
        if self.stopped is not None:
            return False
        future = self._executor.submit(job)
        self._running.add(future)
        self._queue.append(future)
        return True

    # -- collecting -----------------------------------------------------------------------

    def ready(self) -> Iterator[T]:
        """Yield the results at the head of the queue that are done, without waiting."""
        self._reap()
        while self._queue and self._queue[0].done():
            future = self._queue.popleft()
            if future.exception() is None:
                yield future.result()

    def drain(self) -> Iterator[T]:
        """Wait for every job and yield all results in order (failed jobs have none)."""
        while self._queue:
            wait([self._queue[0]])
            yield from self.ready()

    def check(self) -> None:
        """Raise :class:`Abandoned` if the pool is closing; long jobs call it between chunks."""
        if self._abandon.is_set():
            raise Abandoned("the copy was abandoned: the import stopped")

    def close(self) -> None:
        """Stop running jobs at their next :meth:`check` and wait for the threads to end."""
        self._abandon.set()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> OrderedPool[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _reap(self) -> None:
        """Forget finished jobs (freeing their workers) and note the first failure among them."""
        for future in [f for f in self._running if f.done()]:
            self._running.discard(future)
            self._note(future)

    def _note(self, future: Future[T]) -> None:
        error = future.exception()
        if error is not None and self.stopped is None:
            self.stopped = error
