"""One background refresher per process reads the tally and fans it out to every viewer.

However many pages and event streams are open, Postgres sees one small query per refresh
interval per process: viewers wait on a condition variable, never on the database. The same query
reads the workers' progress, so the numbers can be judged current or counting-stalled as well as
fresh or stale, without any connection to Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import psycopg2
from prometheus_client import Counter, Gauge, Histogram

from voting_common import schema
from voting_common.backoff import Backoff
from voting_common.contract import OPTIONS
from voting_common.logs import event

log = logging.getLogger(__name__)

QUERIES = Counter("result_db_queries_total", "Tally queries sent to Postgres")
REFRESH_SECONDS = Histogram(
    "result_refresh_seconds",
    "Time to read the tally",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
)
DB_ERRORS = Counter("result_db_errors_total", "Failed tally reads")
VIEWERS = Gauge("result_live_viewers", "Open /stream connections", multiprocess_mode="livesum")
VIEWERS_REFUSED = Counter(
    "result_viewers_refused_total", "/stream requests refused (503): the viewer limit was reached"
)

OK, NO_SCHEMA, UNAVAILABLE, STARTING = "ok", "waiting_for_worker", "database_unavailable", "starting"
STALE = "stale"  # numbers shown, but older than the configured age: the database is not answering
COUNTING_STALLED = "counting_stalled"  # numbers read, but votes may be waiting that nobody counts
# What the watcher logs when a judgement turns bad, and when it turns good again.
JUDGEMENT_EVENTS = (("results stale", "results live again"), ("counting stalled", "counting current again"))
DB_UP = Gauge("result_db_up", "1 while the last tally read succeeded, else 0", multiprocess_mode="liveall")


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int] | None  # the last numbers read; None until a read succeeded
    state: str  # what the last numbers mean (ok, waiting_for_worker), or why there are none
    version: int = 0  # bumped when what viewers see changes (numbers, state or staleness)
    error: str | None = None  # why the last read failed; None when it succeeded
    as_of: float | None = None  # wall-clock time (epoch seconds) when the last successful read began
    counting: schema.Counting | None = None  # the workers' progress as of that read; None: unknown

    def age(self, now: float) -> float | None:
        return None if self.as_of is None else max(0.0, now - self.as_of)

    def stale(self, now: float, stale_after_s: float) -> bool:
        """Computed when asked, from ``as_of``: a refresher stuck in a hung query cannot say it."""
        age = self.age(now)
        return age is not None and age > stale_after_s

    def counting_stalled_since(self, now: float, stall_after_s: float) -> float | None:
        """When counting was last current (epoch seconds, the database's clock) if it has not been for
        longer than ``stall_after_s``; None while it keeps up or cannot be judged.

        Ages come from the database (no clock skew between pods) plus the time since the read."""
        counting = self.counting
        if counting is None or self.as_of is None or self.state != OK:
            return None
        behind = counting.current_age_s + max(0.0, now - self.as_of)
        return counting.current_at if behind > stall_after_s else None

    def worker_reporting(self, now: float, stall_after_s: float) -> bool:
        """Whether some worker has reported within ``stall_after_s`` (so its ``waiting`` is known)."""
        counting = self.counting
        if counting is None or self.as_of is None:
            return False
        return counting.beat_age_s + max(0.0, now - self.as_of) <= stall_after_s


class Refresher:
    def __init__(
        self,
        connect: Callable[[], object],
        interval_s: float,
        backoff_cap_s: float = 5.0,
        stale_after_s: float = 2.0,
        counting_stall_after_s: float = 10.0,
    ) -> None:
        self._connect = connect
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self.counting_stall_after_s = counting_stall_after_s
        self._backoff = Backoff(cap=backoff_cap_s)
        self._cond = threading.Condition()
        self._snapshot = Snapshot(None, STARTING)
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._conn: Any = None  # a psycopg2 connection once connected

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Start reading (once; later calls do nothing)."""
        if self._thread is not None:  # every request calls this: no lock once started
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tally-refresher", daemon=True)
                self._thread.start()
                self._watcher = threading.Thread(target=self._watch, name="tally-judgement", daemon=True)
                self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in (self._thread, self._watcher):
            if thread is not None:
                thread.join(timeout=5)

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def wait_for_change(self, seen_version: int, timeout: float) -> Snapshot:
        """Block until the snapshot differs from ``seen_version`` or ``timeout`` passes."""
        with self._cond:
            self._cond.wait_for(lambda: self._snapshot.version != seen_version or self._stop.is_set(), timeout)
            return self._snapshot

    def refresh_once(self) -> Snapshot:
        """Read the tally and publish it if anything changed; returns the current snapshot."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            # as_of is when the read began: the numbers include every vote committed before then.
            read_at, started = time.time(), time.perf_counter()
            QUERIES.inc()
            results = schema.read_results(self._conn)
            REFRESH_SECONDS.observe(time.perf_counter() - started)
            self._backoff.reset()
            DB_UP.set(1)
            if results is None:  # the worker has not created the schema yet: truly zero votes
                self._publish(dict.fromkeys(OPTIONS, 0), NO_SCHEMA, None, read_at)
            else:
                self._publish(results.counts, OK, None, read_at, results.counting)
        except psycopg2.Error as exc:
            DB_ERRORS.inc()
            DB_UP.set(0)
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "error"
            current = self._snapshot
            if current.counts is None:
                self._publish(None, UNAVAILABLE, message, None)
            else:  # keep the last numbers and when they were read: they turn stale with age
                self._publish(current.counts, current.state, message, current.as_of, current.counting)
            raise
        return self._snapshot

    def _publish(
        self,
        counts: dict[str, int] | None,
        state: str,
        error: str | None,
        as_of: float | None,
        counting: schema.Counting | None = None,
    ) -> None:
        """Record a read; viewers are woken only when what they see changes (not for a newer as_of:
        the watcher wakes them when the numbers turn stale or counting stalls, and back)."""
        with self._cond:
            current = self._snapshot
            changed = current.counts != counts or current.state != state
            if state != current.state or (error is None) != (current.error is None):
                event(log, "results state changed", state=state, error=error or "")
            self._snapshot = Snapshot(counts, state, current.version + int(changed), error, as_of, counting)
            if changed:
                self._cond.notify_all()

    def _watch(self) -> None:
        """Wake the viewers when the numbers turn stale or counting stalls, and when either ends: the
        refresher may be stuck, or reading the same numbers again and again."""
        shown = (False, False)
        period = min(self.interval_s, self.stale_after_s / 4, self.counting_stall_after_s / 4)
        while not self._stop.wait(period):
            snap, now = self._snapshot, time.time()
            judged = (
                snap.stale(now, self.stale_after_s),
                snap.counting_stalled_since(now, self.counting_stall_after_s) is not None,
            )
            if judged == shown:
                continue
            for was, is_now, (bad, good) in zip(shown, judged, JUDGEMENT_EVENTS, strict=True):
                if was != is_now:
                    event(log, bad if is_now else good, logging.WARNING if is_now else logging.INFO)
            shown = judged
            with self._cond:
                current = self._snapshot
                self._snapshot = replace(current, version=current.version + 1)
                self._cond.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh_once()
                delay = self.interval_s
            except psycopg2.Error:
                delay = max(self.interval_s, self._backoff.next_delay())
            self._stop.wait(delay)
        if self._conn is not None:
            self._conn.close()
