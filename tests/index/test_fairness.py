"""ShareLock: FIFO within a class of work, time shared between classes, no banked credit."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from index.fairness import ANSWER, INGEST, ShareLock, background_work, work_class


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def queue_turns(lock: ShareLock, kinds: list[str], order: list[str], clock: FakeClock) -> list:
    """Start one thread per kind, each queued (in list order) before the next starts; each
    records its name on its turn, holds the lock one fake second and releases it."""
    threads = []
    for n, kind in enumerate(kinds):
        name = f"{kind}{n}"

        def turn(kind: str = kind, name: str = name) -> None:
            lock.acquire(kind)
            order.append(name)
            clock.now += 1.0
            lock.release()

        before = lock.waiting()
        t = threading.Thread(target=turn, daemon=True)
        t.start()
        deadline = time.monotonic() + 5
        while lock.waiting() == before:
            assert time.monotonic() < deadline, "the thread never queued"
            time.sleep(0.001)
        threads.append(t)
    return threads


def run_from(lock: ShareLock, holder_seconds: float, clock: FakeClock, threads: list) -> None:
    clock.now += holder_seconds
    lock.release()
    for t in threads:
        t.join(timeout=5)
        assert not t.is_alive(), "a waiter was never granted its turn"


EQUAL = {ANSWER: 1.0, INGEST: 1.0}


def test_a_late_ingest_is_not_kept_behind_every_queued_answer() -> None:
    clock = FakeClock()
    lock = ShareLock(EQUAL, clock=clock)
    lock.acquire(ANSWER)
    order: list[str] = []
    threads = queue_turns(lock, [ANSWER] * 5 + [INGEST, INGEST], order, clock)
    run_from(lock, 1.0, clock, threads)
    # equal shares of equal turns: ingest and answers alternate once both wait
    assert order[:2] == ["ingest5", "answer0"]
    assert order[2] == "ingest6"
    assert order[3:] == ["answer1", "answer2", "answer3", "answer4"]


def test_shares_weigh_the_turns() -> None:
    clock = FakeClock()
    lock = ShareLock({ANSWER: 1.0, INGEST: 3.0}, clock=clock)
    lock.acquire(ANSWER)
    order: list[str] = []
    threads = queue_turns(lock, [ANSWER] * 3 + [INGEST] * 6, order, clock)
    run_from(lock, 1.0, clock, threads)
    assert [k[0] for k in order] == list("iiiaiiiaa")


def test_idle_time_is_not_banked_as_credit() -> None:
    clock = FakeClock()
    lock = ShareLock(EQUAL, clock=clock)
    for _ in range(100):  # answers alone for 100 s
        lock.acquire(ANSWER)
        clock.now += 1.0
        lock.release()
    lock.acquire(ANSWER)
    order: list[str] = []
    threads = queue_turns(lock, [INGEST] * 4 + [ANSWER] * 4, order, clock)
    run_from(lock, 1.0, clock, threads)
    # the ingest starts level with the answers, not 100 s ahead: they alternate
    assert [k[0] for k in order] == list("iaiaiaia")


def test_a_shared_class_holds_together_but_lets_a_due_ingest_in() -> None:
    clock = FakeClock()
    lock = ShareLock(EQUAL, shared=frozenset({ANSWER}), clock=clock)
    lock.acquire(ANSWER)
    lock.acquire(ANSWER)  # a second answer joins the first at once
    assert lock.waiting() == 0
    order: list[str] = []
    threads = queue_turns(lock, [INGEST], order, clock)
    clock.now = 1.0  # the answers' turn has lasted longer than the waiting ingest's share
    threads += queue_turns(lock, [ANSWER, ANSWER], order, clock)  # so newcomers wait
    assert lock.waiting() == 3
    lock.release()
    assert order == []  # one answer still holds it
    run_from(lock, 0.0, clock, threads)
    assert order[0] == "ingest0"
    assert sorted(order[1:]) == ["answer0", "answer1"]
    # an exclusive class never joins
    lock2 = ShareLock(clock=clock)
    lock2.acquire(ANSWER)
    late = queue_turns(lock2, [ANSWER], [], clock)
    assert lock2.waiting() == 1
    run_from(lock2, 0.0, clock, late)


def test_one_background_thread_gets_its_share_against_many_greedy_threads() -> None:
    """Eight answer threads take the lock back as soon as they release it (what starved the
    ingest with ``threading.Lock``); the single ingest thread still gets about half the
    lock's time, where a FIFO-less or per-thread-fair lock gives it at most a ninth."""
    lock = ShareLock(EQUAL)
    held = {ANSWER: 0.0, INGEST: 0.0}
    stop = threading.Event()

    def greedy(kind: str) -> None:
        while not stop.is_set():
            with lock if kind == ANSWER else _as_ingest(lock):
                t0 = time.perf_counter()
                time.sleep(0.002)
                held[kind] += time.perf_counter() - t0

    threads = [threading.Thread(target=greedy, args=(ANSWER,)) for _ in range(8)]
    threads.append(threading.Thread(target=greedy, args=(INGEST,)))
    for t in threads:
        t.start()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(timeout=5)
    share = held[INGEST] / (held[INGEST] + held[ANSWER])
    assert 0.3 < share < 0.7, held


class _as_ingest:
    """``with`` the lock as background work."""

    def __init__(self, lock: ShareLock) -> None:
        self.lock = lock
        self.ctx = background_work()

    def __enter__(self) -> None:
        self.ctx.__enter__()
        self.lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.lock.__exit__(*exc)
        self.ctx.__exit__(*exc)


def test_release_of_an_unheld_lock_fails() -> None:
    with pytest.raises(RuntimeError):
        ShareLock().release()


def test_an_interrupted_waiter_leaves_the_queue() -> None:
    class Stop(Exception):
        pass

    lock = ShareLock()
    lock.acquire(ANSWER)
    real = lock._wakeups[INGEST]

    class Interrupted(threading.Condition):
        def wait(self, timeout: float | None = None) -> bool:
            real.wait(0.05)
            raise Stop  # as a KeyboardInterrupt would, while waiting

    lock._wakeups[INGEST] = Interrupted(lock._mutex)
    with pytest.raises(Stop):
        lock.acquire(INGEST)
    assert lock.waiting() == 0
    lock._wakeups[INGEST] = real
    lock.release()
    lock.acquire(ANSWER)  # free again
    lock.release()


def test_threads_of_one_class_take_a_free_lock_without_a_hand_off() -> None:
    """No queue within a class: a thread asking while the lock is free takes it at once,
    even though another thread of its class is waiting to be scheduled."""
    lock = ShareLock()
    lock.acquire(ANSWER)
    order: list[str] = []
    clock_threads = queue_turns(lock, [ANSWER], order, FakeClock())
    lock.release()  # wakes the waiter; this thread asks again before it can run
    lock.acquire(ANSWER)
    order.append("barger")
    lock.release()
    for t in clock_threads:
        t.join(timeout=5)
    assert order == ["barger", "answer0"]  # a FIFO hand-off would have made it wait


def test_ingestion_embeds_and_tokenises_as_background_work(fake_assistant, tmp_path: Path) -> None:
    seen: list[str] = []
    embedder = fake_assistant.ingestor.embedder
    real_embed = embedder.embed

    def embed(texts: list[str], *, kind: str) -> np.ndarray:
        seen.append(work_class())
        return real_embed(texts, kind=kind)

    embedder.embed = embed
    doc = tmp_path / "a.txt"
    doc.write_text("딥시크는 새 모델을 발표했다. 개발 비용은 적었다고 한다.\n", encoding="utf-8")
    fake_assistant.ingest([doc])
    assert seen
    assert set(seen) == {INGEST}
    seen.clear()
    fake_assistant.ask("딥시크는 무엇을 발표했나?")
    assert seen
    assert set(seen) == {ANSWER}
    assert work_class() == ANSWER
