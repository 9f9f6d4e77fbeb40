"""The shared Redis write against a real Redis: votes in flight together go in one round trip,
and each request is answered with its own entry only once Redis acknowledged it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tooling.waiting import eventually
from vote_app.queue import get_writer
from voting_common.contract import STREAM

pytestmark = pytest.mark.integration

VOTERS = [f"{i:032x}" for i in range(1, 9)]


@pytest.fixture
def slow_app(make_app):
    """A vote app that waits long enough for Redis to come back from a pause of its writes."""
    return make_app(redis_timeout=20)


def waiting(writer) -> int:
    with writer._lock:
        return len(writer._waiting)


def test_votes_in_flight_together_share_one_write_and_each_gets_its_own_entry(slow_app, redis_client):
    with slow_app.app_context():
        writer = get_writer()
    batches: list[int] = []
    original = writer._write
    writer._write = lambda batch: batches.append(len(batch)) or original(batch)

    def vote(voter: str) -> tuple[str, int, dict]:
        client = slow_app.test_client()
        client.set_cookie("voter_id", voter)
        r = client.post("/api/vote", json={"vote": "a" if int(voter, 16) % 2 else "b"})
        return voter, r.status_code, r.json

    # Redis holds every write: the first vote's write stays in flight while the others arrive.
    redis_client.execute_command("CLIENT", "PAUSE", "15000", "WRITE")
    try:
        with ThreadPoolExecutor(len(VOTERS)) as pool:
            first = pool.submit(vote, VOTERS[0])
            eventually(lambda: batches == [1], 10, "the first vote's write in flight", 0.01)
            rest = [pool.submit(vote, v) for v in VOTERS[1:]]
            eventually(lambda: waiting(writer) == len(VOTERS) - 1, 10, "the other votes waiting", 0.01)
            assert not first.done(), "answered before Redis acknowledged the vote"
            redis_client.execute_command("CLIENT", "UNPAUSE")
            answers = [first.result(30), *(f.result(30) for f in rest)]
    finally:
        redis_client.execute_command("CLIENT", "UNPAUSE")

    assert batches == [1, len(VOTERS) - 1]
    entries = dict(redis_client.xrange(STREAM))
    assert len(entries) == len(VOTERS)
    for voter, status, body in answers:
        assert status == 202
        # The id each request was given is the entry holding that request's own vote.
        assert entries[body["id"]] == {"voter": voter, "vote": body["vote"]}


def test_an_entry_redis_refuses_is_a_503_and_the_writer_goes_on(slow_app, redis_client):
    """A stream key of the wrong type makes the XADD fail on its own (the connection is fine)."""
    redis_client.set(STREAM, "not a stream")
    client = slow_app.test_client()
    r = client.post("/api/vote", json={"vote": "a"})
    assert r.status_code == 503 and "not recorded" in r.json["error"]
    redis_client.delete(STREAM)
    assert client.post("/api/vote", json={"vote": "a"}).status_code == 202


def test_concurrent_votes_are_each_queued_exactly_once(app, redis_client):
    """Many requests at once through the shared writer: one stream entry per acknowledged vote."""
    voters = [f"{i:032x}" for i in range(1, 201)]

    def vote(voter: str) -> tuple[str, str]:
        client = app.test_client()
        client.set_cookie("voter_id", voter)
        r = client.post("/api/vote", json={"vote": "a"})
        assert r.status_code == 202
        return voter, r.json["id"]

    with ThreadPoolExecutor(16) as pool:
        ids = dict(pool.map(vote, voters))
    entries = dict(redis_client.xrange(STREAM))
    assert len(entries) == len(voters) == len(set(ids.values()))
    assert {entries[entry_id]["voter"]: entry_id for entry_id in entries} == ids


def test_a_vote_that_reaches_redis_after_its_deadline_is_refused_and_never_written(make_app, redis_client):
    """Redis holds every write for longer than the vote's deadline: when the write is let through,
    Redis itself refuses it, so a client that gave up waiting never sees its old vote land later."""
    client = make_app(redis_timeout=20, write_deadline_s=0.5).test_client()
    redis_client.execute_command("CLIENT", "PAUSE", "1500", "WRITE")  # lifts by itself
    r = client.post("/api/vote", json={"vote": "a"})
    assert r.status_code == 503 and "not recorded" in r.json["error"]
    assert redis_client.xlen(STREAM) == 0
    assert client.post("/api/vote", json={"vote": "a"}).status_code == 202  # in time: written
    assert redis_client.xlen(STREAM) == 1
