"""The worker loop in-process, against real Redis and Postgres."""

import pytest
from prometheus_client import generate_latest

from tests.worker.helpers import add_votes, drain, voter
from tooling import metrics
from tooling.waiting import eventually
from voting_common import schema
from voting_common.contract import DEAD_LETTER_STREAM, GROUP, STREAM, decode, encode
from worker_app.loop import Worker
from worker_app.store import apply_votes

pytestmark = pytest.mark.integration


def test_votes_flow_to_postgres_and_leave_the_stream(make_settings, redis_client):
    add_votes(redis_client, ("a" if i % 5 else "b" for i in range(25)))
    redis_client.xadd(STREAM, encode(voter(0), "a"))  # voter 0 changes b -> a
    worker = Worker(make_settings(batch_size=10))
    drain(worker)  # nothing left in the stream, nothing pending
    assert schema.read_tally(worker.pg) == {"a": 21, "b": 4}


def test_malformed_messages_are_dead_lettered_with_their_reason_and_do_not_stop_the_worker(make_settings, redis_client):
    redis_client.xadd(STREAM, encode(voter(1), "a"))
    redis_client.xadd(STREAM, {"voter": voter(2), "vote": "c"})
    redis_client.xadd(STREAM, {"garbage": "x"})
    redis_client.xadd(STREAM, encode(voter(3), "b"))
    worker = Worker(make_settings())
    drain(worker)
    assert schema.read_tally(worker.pg) == {"a": 1, "b": 1}
    dead = redis_client.xrange(DEAD_LETTER_STREAM)
    reasons = sorted(fields["reason"] for _id, fields in dead)
    assert reasons == ["unexpected fields: garbage", "unknown option 'c'"]
    assert all(fields["source_id"] for _id, fields in dead)


def test_a_crashed_consumer_recovers_its_own_unacknowledged_votes(make_settings, unacked, redis_client):
    add_votes(redis_client, ["b"] * 10)
    _crashed, entries = unacked(worker_name="w1")
    assert len(entries) == 10
    restarted = Worker(make_settings(worker_name="w1"))
    drain(restarted)
    assert schema.read_tally(restarted.pg) == {"a": 0, "b": 10}


def test_another_worker_takes_over_votes_left_by_one_that_never_returns(make_settings, unacked, redis_client):
    add_votes(redis_client, ["a"] * 10)
    unacked(worker_name="gone")
    other = Worker(make_settings(worker_name="other", claim_idle_ms=100, claim_interval_s=0.05))
    other._connect()

    def handed_over() -> bool:
        other.step()
        return redis_client.xpending(STREAM, GROUP)["pending"] == 0

    eventually(handed_over, 10, "the other worker to take over", 0.05)
    assert schema.read_tally(other.pg) == {"a": 10, "b": 0}


def test_a_batch_applied_twice_is_counted_once(make_settings, unacked, redis_client):
    """Postgres committed but the ack was lost: redelivery must not double count."""
    add_votes(redis_client, ["a"] * 5)
    first, entries = unacked(worker_name="w1")
    apply_votes(first.pg, [decode(i, f) for i, f in entries])  # committed, never acknowledged
    again = Worker(make_settings(worker_name="w1"))
    drain(again)
    assert schema.read_tally(again.pg) == {"a": 5, "b": 0}


def test_worker_metrics_count_batches_and_dead_letters(make_settings, redis_client):
    counters = [
        ("worker_dead_letters_total", {"reason": "missing_field"}),
        ("worker_batches_total", {}),
        ("worker_votes_applied_total", {}),
    ]

    def counts() -> list[float]:  # this process's registry: the worker runs in it here
        text = generate_latest().decode()
        return [metrics.total(text, name, **labels) for name, labels in counters]

    before = counts()
    redis_client.xadd(STREAM, {"vote": "a"})
    redis_client.xadd(STREAM, encode(voter(1), "a"))
    drain(Worker(make_settings()))
    assert [a - b for a, b in zip(counts(), before, strict=True)] == [1, 1, 1]


def test_consumers_of_gone_workers_are_forgotten_only_when_idle_and_empty(make_settings, redis_client):
    worker = Worker(make_settings(worker_name="alive"))
    worker._connect()
    redis_client.xadd(STREAM, encode(voter(1), "a"))
    redis_client.xreadgroup(GROUP, "holds-votes", {STREAM: ">"})  # pending: must be kept
    redis_client.xgroup_createconsumer(STREAM, GROUP, "empty")  # nothing pending
    assert worker.queue.prune_consumers(idle_ms=3_600_000) == 0  # none idle long enough
    assert worker.queue.prune_consumers(idle_ms=0) == 1
    names = {c["name"] for c in redis_client.xinfo_consumers(STREAM, GROUP)}
    assert names == {"holds-votes"}
