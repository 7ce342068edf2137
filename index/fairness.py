"""Fair turns at a shared compute resource (Kiwi, the embedding model).

A background ingest shares Kiwi and the model with every answer being composed. Left to the
operating system and ``threading.Lock`` (not FIFO: whoever asks right after a release usually
wins), one ingest thread against N answer threads gets a share that shrinks with N: under 20
chat clients the chunking of a 0.3 MB line took 22 s instead of 1.5 s, 9.5 s of it waiting for
the Kiwi lock, and the whole upload 202 s (bench/chat_under_ingest.py, profiled by sampling the
job thread). :class:`ShareLock` shares the resource between classes of work by the time each
has held it, weighted by its share, so a waiting ingest gets its share of the resource's time
however many answer threads queue, and answers theirs however long the ingest is.

The class of the calling thread is set with :func:`background_work` (ingestion) and is
``"answer"`` otherwise, so code that takes the lock needs to know nothing about who calls it.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

ANSWER = "answer"
INGEST = "ingest"
# A waiting ingest gets a third of the time, answers two thirds (bench/chat_under_ingest.py:
# with equal shares 20 clients got 5.8 answers/s instead of 10 and one 4.7 s gap)
DEFAULT_SHARES = {ANSWER: 2.0, INGEST: 1.0}
# Texts per turn at the embedding model for background work: a batch of 32 chunks of 500
# characters holds the model for about 3 s on 2 cores, and every answer needs a turn too.
BACKGROUND_BATCH = 4

_work_class: contextvars.ContextVar[str] = contextvars.ContextVar("jaryo_work", default=ANSWER)


def work_class() -> str:
    """The class of work the calling thread is doing."""
    return _work_class.get()


@contextmanager
def background_work(kind: str = INGEST) -> Iterator[None]:
    """Mark the calling thread's work inside the block as ``kind`` (ingestion by default)."""
    token = _work_class.set(kind)
    try:
        yield
    finally:
        _work_class.reset(token)


class ShareLock:
    """A non-reentrant lock shared between classes of work by time.

    Each class has a virtual clock: the seconds it held the lock divided by its share. A
    thread takes the free lock unless another class is waiting with a lower clock than its
    own; on release the waiting class with the lowest clock is woken. Within a class there is
    no queue (a thread that asks while the lock is free takes it, as with ``threading.Lock``:
    a strict FIFO hand-off to a sleeping thread cost 20 answer threads half of Kiwi's
    throughput). A class that was idle starts from the lowest clock among the busy classes,
    so idleness is not banked as credit for a later burst.

    Threads of a class named in ``shared`` may hold the lock together (answers may run the
    thread-safe model at once); a newcomer of that class joins them only while no other class
    waits with a lower clock than theirs, counting the current turn, so a stream of answers
    cannot keep an ingest out.
    """

    def __init__(
        self,
        shares: dict[str, float] | None = None,
        *,
        shared: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._shares = dict(shares or DEFAULT_SHARES)
        if any(s <= 0 for s in self._shares.values()):
            raise ValueError("every share must be positive")
        self._shared = shared
        self._clock = clock
        self._mutex = threading.Lock()
        self._wakeups = {k: threading.Condition(self._mutex) for k in self._shares}
        self._waiting = dict.fromkeys(self._shares, 0)
        self._used = dict.fromkeys(self._shares, 0.0)
        self._holder: str | None = None
        self._holders = 0
        self._since = 0.0

    def held_seconds(self) -> dict[str, float]:
        """Virtual seconds each class has held the lock (real seconds over its share)."""
        with self._mutex:
            return dict(self._used)

    def waiting(self) -> int:
        """Threads waiting for a turn now."""
        with self._mutex:
            return sum(self._waiting.values())

    def _clock_of(self, kind: str) -> float:
        """``kind``'s clock, counting the turn it holds now."""
        used = self._used[kind]
        if self._holder == kind:
            used += (self._clock() - self._since) / self._shares[kind]
        return used

    def _may_take(self, kind: str) -> bool:
        if self._holder is not None and (self._holder != kind or kind not in self._shared):
            return False
        mine = self._clock_of(kind)
        return not any(n and self._used[k] < mine for k, n in self._waiting.items() if k != kind)

    def _take(self, kind: str) -> None:
        if self._holder is None:
            self._holder, self._holders, self._since = kind, 1, self._clock()
        else:
            self._holders += 1

    def _wake(self) -> None:
        """Wake the waiting class with the lowest clock (all of it if shared)."""
        waiting = [k for k, n in self._waiting.items() if n]
        if waiting:
            kind = min(waiting, key=lambda k: self._used[k])
            if kind in self._shared:
                self._wakeups[kind].notify_all()
            else:
                self._wakeups[kind].notify()

    def acquire(self, kind: str | None = None) -> None:
        """Wait for a turn as ``kind`` (default: the calling thread's :func:`work_class`)."""
        kind = kind or work_class()
        if kind not in self._shares:
            kind = ANSWER if ANSWER in self._shares else next(iter(self._shares))
        with self._mutex:
            if not self._waiting[kind] and self._holder != kind:  # idle until now
                busy = [k for k, n in self._waiting.items() if n]
                busy += [self._holder] if self._holder is not None else []
                if busy:
                    self._used[kind] = max(self._used[kind], min(self._used[k] for k in busy))
            if self._may_take(kind):
                self._take(kind)
                return
            self._waiting[kind] += 1
            try:
                while not self._may_take(kind):
                    self._wakeups[kind].wait()
            except BaseException:  # interrupted: pass on a wake-up this thread may have had
                self._waiting[kind] -= 1
                self._wake()
                raise
            self._waiting[kind] -= 1
            self._take(kind)

    def release(self) -> None:
        """End this thread's turn; the last holder's release wakes the class due next."""
        with self._mutex:
            if self._holder is None:
                raise RuntimeError("release of an unheld ShareLock")
            self._holders -= 1
            if self._holders:
                return  # others of a shared class still hold it
            self._used[self._holder] += (self._clock() - self._since) / self._shares[self._holder]
            self._holder = None
            self._wake()

    def __enter__(self) -> ShareLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
