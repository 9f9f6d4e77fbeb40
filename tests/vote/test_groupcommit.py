"""GroupCommit on its own: who writes, what each caller gets back, what a failure does."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tooling.waiting import eventually
from vote_app.groupcommit import GroupCommit


class Recorder:
    """A write that records its batches; ``hold()`` makes the next write wait until ``release()``."""

    def __init__(self, result=lambda item: f"id-{item}") -> None:
        self.batches: list[list] = []
        self.result = result
        self._held = threading.Event()
        self._release = threading.Event()
        self._release.set()
        self.lock = threading.Lock()

    def hold(self) -> None:
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def wait_until_writing(self) -> None:
        assert self._held.wait(10), "no write started"

    def __call__(self, batch: list) -> list:
        with self.lock:
            self.batches.append(list(batch))
        self._held.set()
        assert self._release.wait(10), "the test never released the write"
        return [self.result(item) for item in batch]


def waiting(gc: GroupCommit) -> int:
    with gc._lock:
        return len(gc._waiting)


def test_a_lone_item_is_written_at_once_alone():
    write = Recorder()
    gc = GroupCommit(write)
    assert gc.submit("x") == "id-x"
    assert gc.submit("y") == "id-y"
    assert write.batches == [["x"], ["y"]]


def test_items_arriving_during_a_write_share_the_next_one_and_each_gets_its_own_result():
    write = Recorder()
    gc = GroupCommit(write)
    write.hold()
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(gc.submit, "first")
        write.wait_until_writing()
        rest = {item: pool.submit(gc.submit, item) for item in ("r1", "r2", "r3", "r4", "r5")}
        eventually(lambda: waiting(gc) == 5, 10, "five items waiting behind the write in flight", 0.005)
        write.release()
        assert first.result(10) == "id-first"
        assert {item: f.result(10) for item, f in rest.items()} == {item: f"id-{item}" for item in rest}
    assert write.batches[0] == ["first"]
    assert sorted(write.batches[1]) == ["r1", "r2", "r3", "r4", "r5"]
    assert len(write.batches) == 2


def test_max_batch_splits_the_waiting_items_in_arrival_order():
    write = Recorder()
    gc = GroupCommit(write, max_batch=2)
    write.hold()
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(gc.submit, "first")]
        write.wait_until_writing()
        for i in range(5):
            futures.append(pool.submit(gc.submit, f"r{i}"))
            eventually(lambda n=i + 1: waiting(gc) == n, 10, f"{i + 1} items waiting", 0.005)
        write.release()
        assert [f.result(10) for f in futures] == ["id-first"] + [f"id-r{i}" for i in range(5)]
    assert write.batches == [["first"], ["r0", "r1"], ["r2", "r3"], ["r4"]]


def test_an_error_in_place_of_a_result_fails_that_item_alone():
    write = Recorder(result=lambda item: ValueError(f"refused {item}") if item == "bad" else f"id-{item}")
    gc = GroupCommit(write)
    write.hold()
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(gc.submit, "first")
        write.wait_until_writing()
        good, bad = pool.submit(gc.submit, "good"), pool.submit(gc.submit, "bad")
        eventually(lambda: waiting(gc) == 2, 10, "two items waiting", 0.005)
        write.release()
        assert first.result(10) == "id-first" and good.result(10) == "id-good"
        with pytest.raises(ValueError, match="refused bad"):
            bad.result(10)


def test_a_failed_write_fails_each_of_its_items_and_the_next_write_goes_ahead():
    calls = []

    def write(batch):
        calls.append(list(batch))
        if len(calls) == 1:
            raise ConnectionError("redis went away")
        return [f"id-{item}" for item in batch]

    gc = GroupCommit(write)
    with pytest.raises(ConnectionError, match="went away"):
        gc.submit("lost")
    assert gc.submit("next") == "id-next"
    assert calls == [["lost"], ["next"]]


def test_a_write_returning_the_wrong_number_of_results_fails_every_item():
    gc = GroupCommit(lambda batch: ["only-one", "extra"])
    with pytest.raises(RuntimeError, match="2 results for 1 items"):
        gc.submit("x")


@settings(max_examples=25, deadline=None)
@given(threads=st.integers(1, 12), per_thread=st.integers(1, 40), max_batch=st.integers(1, 16))
def test_under_concurrency_every_item_is_written_exactly_once_and_answered_with_its_own_result(
    threads, per_thread, max_batch
):
    batches: list[list[str]] = []
    lock = threading.Lock()

    def write(batch):
        assert 1 <= len(batch) <= max_batch
        with lock:
            batches.append(list(batch))
        return [f"id-{item}" for item in batch]

    gc = GroupCommit(write, max_batch=max_batch)
    barrier = threading.Barrier(threads)

    def caller(t: int) -> list[tuple[str, str]]:
        barrier.wait()
        return [(item, gc.submit(item)) for item in (f"{t}-{i}" for i in range(per_thread))]

    with ThreadPoolExecutor(threads) as pool:
        answers = [pair for pairs in pool.map(caller, range(threads)) for pair in pairs]
    assert all(result == f"id-{item}" for item, result in answers)
    written = [item for batch in batches for item in batch]
    assert sorted(written) == sorted(item for item, _ in answers)
    assert len(written) == threads * per_thread
