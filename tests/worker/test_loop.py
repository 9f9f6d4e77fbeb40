"""The worker loop in-process, against real Redis and Postgres."""

import pytest

from tooling.waiting import eventually
from voting_common import schema
from voting_common.contract import DEAD_LETTER_STREAM, GROUP, STREAM, decode, encode
from worker_app.loop import Worker
from worker_app.store import apply_votes

pytestmark = pytest.mark.integration


def voter(i: int) -> str:
    return f"{i:032x}"


def drain(worker: Worker, rounds: int = 50) -> None:
    """Step until the stream is empty (handled entries are deleted from it)."""
    worker._connect()
    for _ in range(rounds):
        worker.step()
        if worker.redis.xlen(STREAM) == 0:
            return
    raise AssertionError("stream not drained")


def test_votes_flow_to_postgres_and_leave_the_stream(make_settings, redis_client):
    for i in range(25):
        redis_client.xadd(STREAM, encode(voter(i), "a" if i % 5 else "b"))
    redis_client.xadd(STREAM, encode(voter(0), "a"))  # voter 0 changes b -> a
    worker = Worker(make_settings(batch_size=10))
    drain(worker)
    assert schema.read_tally(worker.pg) == {"a": 21, "b": 4}
    assert redis_client.xlen(STREAM) == 0
    assert redis_client.xpending(STREAM, GROUP)["pending"] == 0


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
    assert redis_client.xlen(STREAM) == 0


def read_and_die(settings) -> tuple[Worker, list]:
    """A worker that is delivered every queued vote and "dies" before acknowledging any."""
    worker = Worker(settings)
    worker._connect()
    worker._recover_own = False
    return worker, worker.queue.read_new(100, 100)


def test_a_crashed_consumer_recovers_its_own_unacknowledged_votes(make_settings, redis_client):
    for i in range(10):
        redis_client.xadd(STREAM, encode(voter(i), "b"))
    _crashed, entries = read_and_die(make_settings(worker_name="w1"))
    assert len(entries) == 10
    restarted = Worker(make_settings(worker_name="w1"))
    drain(restarted)
    assert schema.read_tally(restarted.pg) == {"a": 0, "b": 10}
    assert redis_client.xpending(STREAM, GROUP)["pending"] == 0


def test_another_worker_takes_over_votes_left_by_one_that_never_returns(make_settings, redis_client):
    for i in range(10):
        redis_client.xadd(STREAM, encode(voter(i), "a"))
    read_and_die(make_settings(worker_name="gone"))
    other = Worker(make_settings(worker_name="other", claim_idle_ms=100, claim_interval_s=0.05))
    other._connect()

    def handed_over() -> bool:
        other.step()
        return redis_client.xpending(STREAM, GROUP)["pending"] == 0

    eventually(handed_over, 10, "the other worker to take over", 0.05)
    assert schema.read_tally(other.pg) == {"a": 10, "b": 0}


def test_a_batch_applied_twice_is_counted_once(make_settings, redis_client):
    """Postgres committed but the ack was lost: redelivery must not double count."""
    for i in range(5):
        redis_client.xadd(STREAM, encode(voter(i), "a"))
    first, entries = read_and_die(make_settings(worker_name="w1"))
    apply_votes(first.pg, [decode(i, f) for i, f in entries])  # committed, never acknowledged
    again = Worker(make_settings(worker_name="w1"))
    drain(again)
    assert schema.read_tally(again.pg) == {"a": 5, "b": 0}


def test_worker_metrics_count_batches_and_dead_letters(make_settings, redis_client):
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    dead_before = sample("worker_dead_letters_total", reason="missing_field")
    batches_before, applied_before = sample("worker_batches_total"), sample("worker_votes_applied_total")
    redis_client.xadd(STREAM, {"vote": "a"})
    redis_client.xadd(STREAM, encode(voter(1), "a"))
    drain(Worker(make_settings()))
    assert sample("worker_dead_letters_total", reason="missing_field") - dead_before == 1
    assert sample("worker_batches_total") - batches_before == 1
    assert sample("worker_votes_applied_total") - applied_before == 1


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
