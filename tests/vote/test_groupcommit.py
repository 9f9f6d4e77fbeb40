"""GroupCommit on its own: who writes, what each caller gets back, what a failure does."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

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


def behind_a_write(gc: GroupCommit, write: Recorder, items: list[str]) -> list[Future]:
    """Submit "first", hold its write, queue ``items`` behind it one at a time (so in that order),
    then let the write go; the callers' futures, "first" first."""

    def waiting() -> int:
        with gc._lock:
            return len(gc._waiting)

    write.hold()
    with ThreadPoolExecutor(len(items) + 1) as pool:
        futures = [pool.submit(gc.submit, "first")]
        write.wait_until_writing()
        for n, item in enumerate(items, 1):
            futures.append(pool.submit(gc.submit, item))
            eventually(lambda n=n: waiting() == n, 10, f"{n} items waiting behind the write in flight", 0.005)
        write.release()
    return futures


def test_a_lone_item_is_written_at_once_alone():
    write = Recorder()
    gc = GroupCommit(write)
    assert gc.submit("x") == "id-x"
    assert gc.submit("y") == "id-y"
    assert write.batches == [["x"], ["y"]]


@pytest.mark.parametrize(
    ("max_batch", "batches"),
    [
        (64, [["first"], ["r0", "r1", "r2", "r3", "r4"]]),  # all that arrived during a write share the next
        (2, [["first"], ["r0", "r1"], ["r2", "r3"], ["r4"]]),  # split in arrival order
    ],
)
def test_items_waiting_behind_a_write_share_the_next_ones_and_each_gets_its_own_result(max_batch, batches):
    write = Recorder()
    futures = behind_a_write(GroupCommit(write, max_batch=max_batch), write, [f"r{i}" for i in range(5)])
    assert [f.result(10) for f in futures] == ["id-first"] + [f"id-r{i}" for i in range(5)]
    assert write.batches == batches


def test_an_error_in_place_of_a_result_fails_that_item_alone():
    write = Recorder(result=lambda item: ValueError(f"refused {item}") if item == "bad" else f"id-{item}")
    first, good, bad = behind_a_write(GroupCommit(write), write, ["good", "bad"])
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
