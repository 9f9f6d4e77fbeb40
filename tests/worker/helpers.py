"""What the worker tests share: voters, queued votes, a drained stream, the tally."""

import random
from collections.abc import Iterable

from tests.support.env import settings_from
from tooling.waiting import eventually
from voting_common import schema
from voting_common.connections import pg_connect
from voting_common.contract import GROUP, OPTIONS, STREAM, encode
from voting_common.settings import PostgresSettings
from worker_app.loop import Worker


def voter(i: int) -> str:
    return f"{i:032x}"


def add_votes(redis_client, options: Iterable[str]) -> list:
    """One vote per option given, voter ``i`` voting the ``i``-th; returns the entry ids."""
    return [redis_client.xadd(STREAM, encode(voter(i), option)) for i, option in enumerate(options)]


def enqueue_votes(redis_client, voters: int, changers: int, seed: int = 1) -> dict[str, int]:
    """Queue one vote per voter and a second, different vote for ``changers`` of them; returns the final tally."""
    rng = random.Random(seed)
    final = {}
    pipe = redis_client.pipeline(transaction=False)
    for i in range(voters):
        final[i] = rng.choice(OPTIONS)
        pipe.xadd(STREAM, encode(voter(i), final[i]))
    for i in rng.sample(range(voters), changers):
        final[i] = "b" if final[i] == "a" else "a"
        pipe.xadd(STREAM, encode(voter(i), final[i]))
    pipe.execute()
    return tally_of(final.values())


def tally_of(choices: Iterable[str]) -> dict[str, int]:
    choices = list(choices)
    return {option: choices.count(option) for option in OPTIONS}


def drain(worker: Worker, rounds: int = 50) -> None:
    """Do what the loop does until the stream is empty: (re)connect, step; then nothing is pending."""
    for _ in range(rounds):
        worker._connect()
        worker.step()
        if worker.redis.xlen(STREAM) == 0:
            assert worker.redis.xpending(STREAM, GROUP)["pending"] == 0
            return
    raise AssertionError("stream not drained")


def wait_drained(redis_client, timeout: float = 60) -> None:
    eventually(lambda: redis_client.xlen(STREAM) == 0, timeout, "the stream to drain")


def tally(postgres_env) -> dict[str, int] | None:
    conn = pg_connect(settings_from(postgres_env, PostgresSettings), "tests")
    try:
        return schema.read_tally(conn)
    finally:
        conn.close()
