"""The worker as a real process: real SIGTERM and SIGKILL, and any start order."""

import random
import signal
import time

import pytest
import requests

from tests.support.env import settings_from
from tests.support.processes import free_port, start_worker, wait_ready
from voting_common import schema
from voting_common.connections import pg_connect
from voting_common.contract import GROUP, STREAM, encode
from voting_common.settings import PostgresSettings

pytestmark = pytest.mark.integration


def voter(i: int) -> str:
    return f"{i:032x}"


def enqueue_votes(redis_client, voters: int, changers: int, seed: int = 1) -> dict[str, int]:
    """Queue one vote per voter and a second, different vote for ``changers`` of them."""
    rng = random.Random(seed)
    final = {}
    pipe = redis_client.pipeline(transaction=False)
    for i in range(voters):
        final[i] = rng.choice("ab")
        pipe.xadd(STREAM, encode(voter(i), final[i]))
    for i in rng.sample(range(voters), changers):
        final[i] = "b" if final[i] == "a" else "a"
        pipe.xadd(STREAM, encode(voter(i), final[i]))
    pipe.execute()
    return {"a": list(final.values()).count("a"), "b": list(final.values()).count("b")}


def wait_drained(redis_client, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis_client.xlen(STREAM) == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"stream not drained: {redis_client.xlen(STREAM)} entries left")


def tally(postgres_env):
    conn = pg_connect(settings_from(postgres_env, PostgresSettings), "tests")
    try:
        return schema.read_tally(conn)
    finally:
        conn.close()


def test_sigterm_finishes_the_batch_acknowledges_it_and_exits_0(worker_env, redis_client, postgres_env, tmp_path):
    expected = enqueue_votes(redis_client, 30_000, 3_000)
    proc, port = start_worker({**worker_env, "BATCH_SIZE": "500"}, tmp_path / "worker.log")
    wait_ready(port, proc=proc)
    deadline = time.monotonic() + 30
    while redis_client.xlen(STREAM) > 25_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert redis_client.xpending(STREAM, GROUP)["pending"] == 0  # nothing left in flight
    log = (tmp_path / "worker.log").read_text()
    assert "worker stopped" in log
    # What it committed is exactly what it removed from the stream; the rest is still queued.
    proc, port = start_worker(worker_env, tmp_path / "worker2.log")
    try:
        wait_drained(redis_client)
        assert tally(postgres_env) == expected
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_sigkill_mid_batch_repeatedly_loses_and_double_counts_nothing(worker_env, redis_client, postgres_env, tmp_path):
    expected = enqueue_votes(redis_client, 40_000, 8_000, seed=2)
    env = {**worker_env, "BATCH_SIZE": "700", "WORKER_NAME": "w-kill"}
    rng = random.Random(5)
    left = []
    for n in range(5):
        proc, port = start_worker(env, tmp_path / f"worker{n}.log")
        wait_ready(port, proc=proc)
        time.sleep(rng.uniform(0.05, 0.3))
        proc.kill()
        proc.wait(timeout=10)
        left.append(redis_client.xlen(STREAM))
    # At least one kill with work left, and at least one after some progress (machine speed varies).
    assert left[0] > 0 and min(left) < 48_000, f"kills did not land mid-stream: {left}"
    proc, port = start_worker(env, tmp_path / "final.log")
    try:
        wait_drained(redis_client)
        assert tally(postgres_env) == expected
        assert redis_client.xpending(STREAM, GROUP)["pending"] == 0
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_worker_started_before_redis_and_postgres_converges(tmp_path):
    """Any start order: the worker waits (readiness 503) and catches up when both appear."""
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.community.redis import RedisContainer

    from tests.conftest import PG_PASSWORD, POSTGRES_IMAGE, REDIS_IMAGE

    redis_port, pg_port = free_port(), free_port()
    env = {
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_port),
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(pg_port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": PG_PASSWORD,
        "POSTGRES_DB": "votes",
        "BACKOFF_CAP_S": "1",
    }
    proc, port = start_worker(env, tmp_path / "worker.log")
    try:
        time.sleep(1.5)
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        assert ready.status_code == 503 and "redis" in ready.json()["reason"]
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        with (
            RedisContainer(REDIS_IMAGE).with_bind_ports(6379, redis_port) as rc,
            PostgresContainer(
                POSTGRES_IMAGE, username="postgres", password=PG_PASSWORD, dbname="votes"
            ).with_bind_ports(5432, pg_port),
        ):
            client = rc.get_client(decode_responses=True)
            client.xadd(STREAM, encode(voter(1), "a"))
            client.xadd(STREAM, encode(voter(2), "b"))
            client.xadd(STREAM, encode(voter(1), "b"))
            wait_ready(port, timeout=60, proc=proc)
            wait_drained(client, timeout=30)
            assert tally(env) == {"a": 0, "b": 2}
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0
