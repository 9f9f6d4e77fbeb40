"""Group commit: the requests a process serves at the same moment share one write.

Whoever submits while no write is in flight becomes the leader: it takes every item waiting
(its own included), writes them in one call and hands each caller its own result. Items that
arrive meanwhile wait; when the write returns, the first of them leads the next one. There is
no background thread and no timer: a lone request writes at once, and under load a write
carries as many items as arrived during the previous one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Histogram

T = TypeVar("T")
R = TypeVar("R")

BATCH_SIZE = Histogram(
    "vote_group_commit_batch_size",
    "Votes written to Redis in one shared round trip",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


class _Slot(Generic[T, R]):
    __slots__ = ("item", "result", "error", "done", "lead", "ready")

    def __init__(self, item: T) -> None:
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False  # result or error is set
        self.lead = False  # woken to lead the next write, not with a result
        self.ready = threading.Event()


class GroupCommit(Generic[T, R]):
    """``submit(item)`` returns ``write(items)[i]`` for that item, or raises what the write raised.

    ``write`` gets the items in arrival order and returns one result per item; an exception in
    place of a result fails that item alone, one raised by ``write`` fails the whole write.
    """

    def __init__(self, write: Callable[[list[T]], Sequence[R | BaseException]], max_batch: int = 64) -> None:
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Slot[T, R]] = []
        self._writing = False

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._waiting.append(slot)
            lead = not self._writing
            self._writing = True
        if not lead:
            # Bounded: the leader's write has its own timeouts and then wakes every item it took.
            slot.ready.wait()
            if not slot.lead:
                return self._outcome(slot)
        self._lead()
        return self._outcome(slot)

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
        try:
            BATCH_SIZE.observe(len(batch))
            results = self._write([s.item for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"write returned {len(results)} results for {len(batch)} items")
            for s, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    s.error = result
                else:
                    s.result = result
                s.done = True
        except Exception as exc:  # every caller of this write learns that it failed
            for s in batch:
                s.error, s.done = exc, True
        finally:
            for s in batch:
                if not s.done:  # the leader's thread is being torn down mid-write
                    s.error, s.done = RuntimeError("the shared write was interrupted"), True
            with self._lock:
                if self._waiting:
                    self._waiting[0].lead = True
                    self._waiting[0].ready.set()
                else:
                    self._writing = False
            for s in batch:
                s.ready.set()

    @staticmethod
    def _outcome(slot: _Slot[T, R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # done without an error: the write's result
