"""One background refresher per process reads the tally and fans it out to every viewer.

However many pages and event streams are open, Postgres sees one small query per refresh
interval per process: viewers wait on a condition variable, never on the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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

OK, NO_SCHEMA, UNAVAILABLE, STARTING = "ok", "waiting_for_worker", "database_unavailable", "starting"


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int] | None  # None when the database could not be read
    state: str
    version: int = 0
    error: str | None = None


class Refresher:
    def __init__(self, connect: Callable[[], object], interval_s: float, backoff_cap_s: float = 5.0) -> None:
        self._connect = connect
        self.interval_s = interval_s
        self._backoff = Backoff(cap=backoff_cap_s)
        self._cond = threading.Condition()
        self._snapshot = Snapshot(None, STARTING)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None  # a psycopg2 connection once connected

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tally-refresher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

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
            started = time.perf_counter()
            QUERIES.inc()
            counts = schema.read_tally(self._conn)
            REFRESH_SECONDS.observe(time.perf_counter() - started)
            self._backoff.reset()
            if counts is None:  # the worker has not created the schema yet: truly zero votes
                self._publish(dict.fromkeys(OPTIONS, 0), NO_SCHEMA, None)
            else:
                self._publish(counts, OK, None)
        except psycopg2.Error as exc:
            DB_ERRORS.inc()
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._publish(None, UNAVAILABLE, str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "error")
            raise
        return self._snapshot

    def _publish(self, counts: dict[str, int] | None, state: str, error: str | None) -> None:
        current = self._snapshot
        if current.counts == counts and current.state == state:
            return
        if state != current.state:
            event(log, "results state changed", state=state, error=error or "")
        with self._cond:
            self._snapshot = Snapshot(counts, state, current.version + 1, error)
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
