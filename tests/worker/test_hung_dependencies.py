"""A Postgres or Redis that stops answering mid-batch (a frozen container, not a refused connection):
the worker gives up within its bounds, says it is not ready, loses and double-counts nothing, and
applies the batch once the dependency answers again."""

import pytest
import redis

from tests.worker.helpers import add_votes, drain, voter
from tooling.waiting import eventually
from voting_common import schema
from voting_common.contract import GROUP, STREAM, encode
from voting_common.pgwait import PostgresNotAnswering

pytestmark = pytest.mark.integration

BOUNDS = {"postgres_timeout": 1, "postgres_connect_timeout": 1, "redis_timeout": 1, "backoff_cap_s": 0.5}


def drained(redis_client) -> bool:
    return redis_client.xlen(STREAM) == 0 and redis_client.xpending(STREAM, GROUP)["pending"] == 0


def tally(pg_conn) -> dict[str, int] | None:
    pg_conn.rollback()  # a fresh snapshot of the table
    return schema.read_tally(pg_conn)


def test_a_frozen_postgres_mid_batch_is_noticed_then_the_batch_applied_once(
    running, redis_client, pg_conn, freeze_postgres
):
    worker = running(**BOUNDS, batch_size=50)
    with freeze_postgres():
        with redis_client.pipeline(transaction=True) as pipe:  # all at once: one batch reads them all
            add_votes(pipe, ("a" if i % 4 else "b" for i in range(40)))
            pipe.execute()
        # Read from Redis, stuck in Postgres: the votes stay pending, the worker says it is not ready.
        eventually(lambda: worker.health.ready(), 30, "the worker to report Postgres not answering", 0.05)
        assert "postgres" in worker.health.ready()
        assert redis_client.xpending(STREAM, GROUP)["pending"] == 40
    eventually(lambda: drained(redis_client), 60, "every vote applied after Postgres answered again", 0.1)
    assert tally(pg_conn) == {"a": 30, "b": 10}
    assert worker.health.ready() is None


@pytest.mark.parametrize(
    ("votes", "option", "freeze", "error"),
    [
        # Postgres commits, then the acknowledgement gets no answer. Whether it still lands once Redis
        # resumes or never does, the worker reads back what is pending under its name and applies it
        # again: a no-op.
        (20, "b", "freeze_redis", redis.TimeoutError),
        (10, "a", "freeze_postgres", PostgresNotAnswering),  # the commit fails within the bound
    ],
)
def test_a_batch_cut_short_by_a_frozen_dependency_is_counted_once(
    request, unacked, redis_client, pg_conn, votes, option, freeze, error
):
    add_votes(redis_client, [option] * votes)
    worker, entries = unacked(**BOUNDS, worker_name="w1")
    assert len(entries) == votes
    with request.getfixturevalue(freeze)(), pytest.raises(error):
        worker.handle(entries)
    counted = {"a": 0, "b": 0, option: votes}
    if error is redis.TimeoutError:
        assert tally(pg_conn) == counted  # committed before the acknowledgement was lost
    else:
        assert worker.pg.closed
    worker._on_error(error("frozen"))
    assert freeze.removeprefix("freeze_") in worker.health.ready()
    drain(worker, rounds=10)
    assert tally(pg_conn) == counted
    assert worker.health.ready() is None


def test_a_frozen_redis_is_noticed_within_its_timeout_and_the_worker_recovers(running, redis_client, freeze_redis):
    worker = running(**BOUNDS)
    with freeze_redis():
        eventually(lambda: worker.health.ready(), 30, "the worker to report Redis not answering", 0.05)
        assert "redis" in worker.health.ready()
    eventually(lambda: worker.health.ready() is None, 60, "the worker ready again", 0.05)
    redis_client.xadd(STREAM, encode(voter(1), "a"))
    eventually(lambda: drained(redis_client), 30, "the vote applied", 0.1)
