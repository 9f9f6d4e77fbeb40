"""The backlog gauge stays right when two workers acknowledge out of order (Redis' lag is then null)."""

import pytest

from voting_common.contract import GROUP, STREAM
from worker_app.queue import VoteQueue

pytestmark = pytest.mark.integration


def test_xinfo_replies_have_the_shape_the_queue_reads(worker_redis):
    queue = VoteQueue(worker_redis, "w1", 1000)
    queue.ensure_group()
    worker_redis.xadd(STREAM, {"voter": "0" * 32, "vote": "a"})
    queue.read_new(1, 10)
    [group] = worker_redis.xinfo_groups(STREAM)
    assert group["name"] == GROUP.encode() and group["pending"] == 1 and group["lag"] == 0
    [consumer] = worker_redis.xinfo_consumers(STREAM, GROUP)
    assert consumer["name"] == b"w1" and consumer["pending"] == 1 and isinstance(consumer["idle"], int)


def test_backlog_and_pending_when_deletions_fragment_the_stream(worker_redis, redis_client):
    first, second = VoteQueue(worker_redis, "w1", 1000), VoteQueue(worker_redis, "w2", 1000)
    first.ensure_group()
    for i in range(1, 7):
        redis_client.xadd(STREAM, {"voter": "0" * 32, "vote": "a"}, id=f"{i}-0")
    assert first.depth() == (6, 0)
    held = [entry_id for entry_id, _ in first.read_new(2, 10)]
    done = [entry_id for entry_id, _ in second.read_new(2, 10)]
    second.ack(done)  # the later entries first: Redis can no longer tell the group's lag
    assert redis_client.xinfo_groups(STREAM)[0]["lag"] is None
    assert first.depth() == (2, 2)
    first.ack(held)
    assert first.depth()[1] == 0 and redis_client.xpending(STREAM, GROUP)["pending"] == 0
