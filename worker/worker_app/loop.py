"""The worker loop: read a batch from Redis, commit it to Postgres, then acknowledge it.

Signal handlers only set a flag; the loop checks it between batches, so SIGTERM finishes and
acknowledges the batch in hand before exiting. Lost connections are retried with capped
exponential backoff, so the worker survives Redis or Postgres going away and any start order.

Every batch records the worker's progress in its own transaction, and a heartbeat (never blocked
longer than ``counting_heartbeat_s`` by an empty queue) records the votes waiting in Redis: the
result service reads both from Postgres and can say when counting has stalled.
"""

from __future__ import annotations

import logging
import time

import psycopg2
import redis

from voting_common import schema
from voting_common.backoff import Backoff
from voting_common.connections import pg_connect, redis_client
from voting_common.contract import InvalidMessage, Vote, decode
from voting_common.logs import event

from . import metrics, store
from .health import HealthState
from .queue import Entry, VoteQueue
from .settings import WorkerSettings
from .shutdown import StopRequest

log = logging.getLogger("worker")
CONSUMER_FORGET_MS = 3_600_000  # a consumer name unused this long belonged to a worker that is gone


class Worker:
    def __init__(
        self, settings: WorkerSettings, health: HealthState | None = None, stop: StopRequest | None = None
    ) -> None:
        self.settings = settings
        self.health = health or HealthState()
        self.health.counting_stall_after_s = settings.counting_stall_after_s
        metrics.SECONDS_BEHIND.set_function(self.health.seconds_behind)
        self.stop = stop or StopRequest()
        self.backoff = Backoff(cap=settings.backoff_cap_s)
        # An empty queue blocks the read no longer than one heartbeat, so an idle worker still reports.
        self.block_ms = min(settings.block_ms, max(10, int(settings.counting_heartbeat_s * 1000)))
        self.redis = redis_client(settings, decode_responses=False, block_timeout=self.block_ms / 1000)
        self.queue = VoteQueue(self.redis, settings.worker_name, settings.claim_idle_ms)
        self.pg = None
        self._ready = False
        self._recover_own = True  # first read back what this consumer name held before a crash
        self._next_claim = 0.0
        self._next_beat = 0.0
        self._down_since: dict[str, float] = {}  # dependency -> when it stopped answering

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self) -> None:
        event(log, "worker starting", consumer=self.settings.worker_name, batch_size=self.settings.batch_size)
        try:
            while not self.stop.requested:
                self.health.beat()
                try:
                    self._connect()
                    self.step()
                    self.backoff.reset()
                except (redis.RedisError, psycopg2.Error) as exc:
                    self._on_error(exc)
        finally:
            self._close()
            event(log, "worker stopped")

    def _connect(self) -> None:
        if self._ready:
            return
        self.redis.ping()
        self.queue.ensure_group()
        self._mark("redis", True)
        if self.pg is None or self.pg.closed:
            self.pg = pg_connect(self.settings, application_name=f"worker/{self.settings.worker_name}")
            version = schema.migrate(self.pg)
            store.forget_gone_workers(self.pg, self.settings.worker_name, CONSUMER_FORGET_MS / 1000)
            event(log, "connected", schema_version=version)
        self._mark("postgres", True)
        self._ready = True
        self._recover_own = True  # a batch cut short is in our pending entries: read it again first
        self._next_beat = 0.0  # report at once: the result service may be saying counting stalled

    def _mark(self, dependency: str, up: bool, error: str = "") -> None:
        """Record a dependency's state; logged once per outage (and its end), not on every retry."""
        setattr(self.health, f"{dependency}_ok", up)
        metrics.DEPENDENCY_UP.labels(dependency).set(1 if up else 0)
        if up:
            since = self._down_since.pop(dependency, None)
            if since is not None:
                event(
                    log,
                    "dependency answering again",
                    dependency=dependency,
                    down_for=f"{time.monotonic() - since:.1f}s",
                )
        elif dependency not in self._down_since:
            self._down_since[dependency] = time.monotonic()
            event(
                log,
                "dependency not answering, retrying with backoff",
                logging.WARNING,
                dependency=dependency,
                error=error,
            )

    def _on_error(self, exc: Exception) -> None:
        dependency = "redis" if isinstance(exc, redis.RedisError) else "postgres"
        metrics.ERRORS.labels(dependency).inc()
        error = str(exc).strip()[:200]
        if dependency == "postgres" and self.pg is not None:
            self.pg.close()
        self._mark(dependency, False, error)
        self._ready = False
        delay = self.backoff.next_delay()
        log.debug("retrying %s in %.2fs: %s", dependency, delay, error)
        self.stop.pause(delay)

    def _close(self) -> None:
        if self.pg is not None:
            self.pg.close()
        self.redis.close()

    # -- one iteration -----------------------------------------------------------------------

    def step(self) -> int:
        """Read and handle one batch; returns how many entries it handled."""
        s = self.settings
        now = time.monotonic()
        if self._recover_own:
            entries = self.queue.read_own_pending(s.batch_size)
            self._recover_own = bool(entries)
        elif now >= self._next_claim:
            self._next_claim = now + s.claim_interval_s
            entries = self.queue.claim_stale(s.batch_size)
            metrics.RECLAIMED.inc(len(entries))
            if entries:
                event(log, "took over stale votes", count=len(entries))
            elif self.queue.prune_consumers(CONSUMER_FORGET_MS):
                event(log, "forgot idle consumers of stopped workers")
        else:
            entries = self.queue.read_new(s.batch_size, self.block_ms)
        if entries:
            self.handle(entries)
        if time.monotonic() >= self._next_beat:
            self.report()
        return len(entries)

    def report(self) -> None:
        """The heartbeat: the votes waiting in Redis, recorded in Postgres for the result service."""
        self._next_beat = time.monotonic() + self.settings.counting_heartbeat_s
        backlog, pending = self.queue.depth()
        metrics.BACKLOG.set(backlog)
        metrics.PENDING.set(pending)
        metrics.WAITING.set(backlog + pending)
        store.beat(self.pg, self.settings.worker_name, backlog + pending)
        self.health.saw_waiting(backlog + pending)

    def handle(self, entries: list[Entry]) -> None:
        """Commit the valid votes, dead-letter the rest, then acknowledge them all."""
        started = time.perf_counter()
        votes: list[Vote] = []
        done: list[bytes] = []
        dead: list[tuple[bytes, dict, InvalidMessage]] = []
        for entry_id, fields in entries:
            if fields is None:  # deleted after delivery: nothing left to apply
                done.append(entry_id)
                continue
            try:
                votes.append(decode(entry_id, fields))
                done.append(entry_id)
            except InvalidMessage as exc:
                dead.append((entry_id, fields, exc))
        progress = store.Progress(self.settings.worker_name, len(entries), entries[-1][0].decode())
        if votes:
            store.apply_votes(self.pg, votes, progress)
        if dead:
            self.queue.dead_letter([(entry_id, fields, str(problem)) for entry_id, fields, problem in dead])
            for entry_id, _fields, problem in dead:
                metrics.DEAD_LETTERS.labels(problem.code).inc()
                event(log, "message dead-lettered", logging.WARNING, id=entry_id.decode(), reason=str(problem))
        self.queue.ack(done)
        if not votes:
            store.record_progress(self.pg, progress)
        self.health.progressed()
        metrics.BATCHES.inc()
        metrics.VOTES_APPLIED.inc(len(votes))
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
