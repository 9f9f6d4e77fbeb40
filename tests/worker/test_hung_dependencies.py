"""A Postgres or Redis that stops answering mid-batch (a frozen container, not a refused connection):
the worker gives up within its bounds, says it is not ready, loses and double-counts nothing, and
applies the batch once the dependency answers again."""

import threading

import pytest
import redis

from tooling.waiting import eventually
from voting_common import schema
from voting_common.contract import GROUP, STREAM, encode
from voting_common.pgwait import PostgresNotAnswering
from worker_app.health import HealthState
from worker_app.loop import Worker
from worker_app.shutdown import StopRequest

pytestmark = pytest.mark.integration

BOUNDS = {"postgres_timeout": 1, "postgres_connect_timeout": 1, "redis_timeout": 1, "backoff_cap_s": 0.5}


def voter(i: int) -> str:
    return f"{i:032x}"


@pytest.fixture
def running(make_settings):
    """Start the worker loop in a thread; stopped (and checked to have stopped) afterwards."""
    started: list[tuple[Worker, threading.Thread]] = []

    def start(**overrides) -> Worker:
        worker = Worker(make_settings(**BOUNDS, **overrides), HealthState(), StopRequest())
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        eventually(lambda: worker.health.ready() is None, 30, "the worker ready", 0.05)
        return worker

    yield start
    for worker, thread in started:
        worker.stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()


def drained(redis_client) -> bool:
    return redis_client.xlen(STREAM) == 0 and redis_client.xpending(STREAM, GROUP)["pending"] == 0


def tally(pg_conn) -> dict[str, int] | None:
    pg_conn.rollback()  # a fresh snapshot of the table
    return schema.read_tally(pg_conn)


def holding_a_batch(make_settings, redis_client, votes: int, option: str):
    """A connected worker that has read ``votes`` new votes and not yet handled them."""
    for i in range(votes):
        redis_client.xadd(STREAM, encode(voter(i), option))
    worker = Worker(make_settings(**BOUNDS, worker_name="w1"), HealthState(), StopRequest())
    worker._connect()
    worker._recover_own = False
    entries = worker.queue.read_new(100, 100)
    assert len(entries) == votes
    return worker, entries


def step_until_drained(worker: Worker, redis_client, rounds: int = 10) -> None:
    """What the loop does once the dependency answers: reconnect, read back its pending votes, apply."""
    for _ in range(rounds):
        worker._connect()
        worker.step()
        if drained(redis_client):
            return
    raise AssertionError("stream not drained")


def test_a_frozen_postgres_mid_batch_is_noticed_then_the_batch_applied_once(
    running, redis_client, pg_conn, freeze_postgres
):
    worker = running(batch_size=50)
    with freeze_postgres():
        with redis_client.pipeline(transaction=True) as pipe:  # all at once: one batch reads them all
            for i in range(40):
                pipe.xadd(STREAM, encode(voter(i), "a" if i % 4 else "b"))
            pipe.execute()
        # Read from Redis, stuck in Postgres: the votes stay pending, the worker says it is not ready.
        eventually(lambda: worker.health.ready(), 30, "the worker to report Postgres not answering", 0.05)
        assert "postgres" in worker.health.ready()
        assert redis_client.xpending(STREAM, GROUP)["pending"] == 40
    eventually(lambda: drained(redis_client), 60, "every vote applied after Postgres answered again", 0.1)
    assert tally(pg_conn) == {"a": 30, "b": 10}
    assert worker.health.ready() is None


def test_a_frozen_redis_between_commit_and_ack_counts_the_batch_once(
    make_settings, redis_client, pg_conn, freeze_redis
):
    worker, entries = holding_a_batch(make_settings, redis_client, 20, "b")
    with freeze_redis(), pytest.raises(redis.TimeoutError):
        worker.handle(entries)  # Postgres commits, then the acknowledgement gets no answer
    # Committed; whether the acknowledgement still lands once Redis resumes or never does, the
    # worker reads back what is pending under its name and applies it again: a no-op.
    assert tally(pg_conn) == {"a": 0, "b": 20}
    worker._on_error(redis.TimeoutError("frozen"))
    assert "redis" in worker.health.ready()
    step_until_drained(worker, redis_client)
    assert tally(pg_conn) == {"a": 0, "b": 20}  # applied again: a no-op
    assert worker.health.ready() is None


def test_a_frozen_postgres_at_commit_fails_within_the_bound_and_the_retry_counts_once(
    make_settings, redis_client, pg_conn, freeze_postgres
):
    worker, entries = holding_a_batch(make_settings, redis_client, 10, "a")
    with freeze_postgres(), pytest.raises(PostgresNotAnswering):
        worker.handle(entries)
    assert worker.pg.closed
    worker._on_error(PostgresNotAnswering("frozen"))
    assert "postgres" in worker.health.ready()
    step_until_drained(worker, redis_client)
    assert tally(pg_conn) == {"a": 10, "b": 0}


def test_a_frozen_redis_is_noticed_within_its_timeout_and_the_worker_recovers(running, redis_client, freeze_redis):
    worker = running()
    with freeze_redis():
        eventually(lambda: worker.health.ready(), 30, "the worker to report Redis not answering", 0.05)
        assert "redis" in worker.health.ready()
    eventually(lambda: worker.health.ready() is None, 60, "the worker ready again", 0.05)
    redis_client.xadd(STREAM, encode(voter(1), "a"))
    eventually(lambda: drained(redis_client), 30, "the vote applied", 0.1)
