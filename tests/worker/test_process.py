"""The worker as a real process: real SIGTERM and SIGKILL, and any start order."""

import random
import signal
import time

import pytest
import requests

from tests.support.processes import handles_sigterm, spawn_worker, start_worker, wait_ready
from tests.worker.helpers import add_votes, enqueue_votes, tally, wait_drained
from tooling import metrics
from tooling.forward import Forwarder
from tooling.waiting import eventually
from voting_common.contract import GROUP, STREAM

pytestmark = pytest.mark.integration


def a_worker_ends_with(expected, env, redis_client, postgres_env, log) -> None:
    """A worker started now drains the stream to exactly ``expected``, nothing pending, and exits 0."""
    proc, _port = start_worker(env, log)
    try:
        wait_drained(redis_client)
        assert tally(postgres_env) == expected
        assert redis_client.xpending(STREAM, GROUP)["pending"] == 0
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_sigterm_finishes_the_batch_acknowledges_it_and_exits_0(worker_env, redis_client, postgres_env, tmp_path):
    expected = enqueue_votes(redis_client, 30_000, 3_000)
    proc, port = start_worker({**worker_env, "BATCH_SIZE": "500"}, tmp_path / "worker.log")
    wait_ready(port, proc)
    eventually(lambda: redis_client.xlen(STREAM) < 33_000, 30, "the first batches")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert redis_client.xpending(STREAM, GROUP)["pending"] == 0  # nothing left in flight
    assert "worker stopped" in (tmp_path / "worker.log").read_text()
    # What it committed is exactly what it removed from the stream; the rest is still queued.
    a_worker_ends_with(expected, worker_env, redis_client, postgres_env, tmp_path / "worker2.log")


@pytest.mark.parametrize("delay", [0, 0.01, 0.03, 0.1, 0.3])
def test_sigterm_at_any_moment_of_start_up_exits_0_with_nothing_pending(
    worker_env, redis_client, postgres_env, tmp_path, delay
):
    """From the moment the handler is installed (first thing the process does), through imports,
    connecting and migrating, to the first batches: exit 0, nothing left in flight."""
    expected = enqueue_votes(redis_client, 5_000, 500, seed=3)
    proc = spawn_worker({**worker_env, "BATCH_SIZE": "200"}, tmp_path / "worker.log")
    eventually(lambda: handles_sigterm(proc.pid), 30, "the SIGTERM handler", 0.001)
    time.sleep(delay)  # when the signal lands, not a bound on anything
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert "worker stopped" in (tmp_path / "worker.log").read_text()
    # Nothing in flight (the group exists only if it got as far as connecting).
    assert sum(group["pending"] for group in redis_client.xinfo_groups(STREAM)) == 0
    # Whatever it did commit was removed from the stream.
    a_worker_ends_with(expected, worker_env, redis_client, postgres_env, tmp_path / "worker2.log")


def test_sigterm_while_dependencies_are_unreachable_exits_0_promptly(tmp_path):
    nowhere = Forwarder(lambda: None)  # accepts, then closes at once: a server that is not there
    try:
        env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(nowhere.port), "BACKOFF_CAP_S": "30"}
        log = tmp_path / "worker.log"
        proc, _port = start_worker(env, log)
        eventually(lambda: "dependency not answering" in log.read_text(), 30, "a failed connection")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0  # not after the backoff pause: the pause ends on the signal
        assert "worker stopped" in log.read_text()
    finally:
        nowhere.close()


def test_sigkill_mid_batch_repeatedly_loses_and_double_counts_nothing(worker_env, redis_client, postgres_env, tmp_path):
    expected = enqueue_votes(redis_client, 40_000, 8_000, seed=2)
    env = {**worker_env, "BATCH_SIZE": "700", "WORKER_NAME": "w-kill"}
    rng = random.Random(5)
    left = [redis_client.xlen(STREAM)]
    for n in range(5):
        proc, _port = start_worker(env, tmp_path / f"worker{n}.log")
        # Killed once it has made progress, at a random point after (in the middle of some batch).
        eventually(lambda: redis_client.xlen(STREAM) < left[-1], 30, "progress", 0.005)  # noqa: B023
        time.sleep(rng.uniform(0, 0.1))
        proc.kill()
        proc.wait(timeout=10)
        left.append(redis_client.xlen(STREAM))
    assert left[-1] > 0, f"the stream ran out before the last kill: {left}"
    a_worker_ends_with(expected, env, redis_client, postgres_env, tmp_path / "final.log")


def test_worker_started_before_redis_and_postgres_converges(tmp_path):
    """Any start order: the worker waits (readiness 503) and catches up when both appear.

    The worker is given fixed addresses (forwarders) before Redis and Postgres exist; they start
    later on ports Docker chooses, and the forwarders lead there once they do.
    """
    from testcontainers.community.postgres import PostgresContainer

    from tests.conftest import PG_PASSWORD, POSTGRES_IMAGE, REDIS_PASSWORD, redis_container

    targets: dict[str, tuple[str, int]] = {}
    redis_front = Forwarder(lambda: targets.get("redis"))
    pg_front = Forwarder(lambda: targets.get("postgres"))
    env = {
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_front.port),
        "REDIS_PASSWORD": REDIS_PASSWORD,
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(pg_front.port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": PG_PASSWORD,
        "POSTGRES_DB": "votes",
        "BACKOFF_CAP_S": "1",
    }
    log = tmp_path / "worker.log"
    proc, port = start_worker(env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        eventually(
            lambda: metrics.total(requests.get(f"{url}/metrics", timeout=2).text, "worker_errors_total") >= 2,
            30,
            "two failed connection attempts",
        )
        assert log.read_text().count("dependency not answering") == 1  # logged once, not per attempt
        ready = requests.get(f"{url}/readyz", timeout=2)
        assert ready.status_code == 503 and "redis" in ready.json()["reason"]
        assert requests.get(f"{url}/healthz", timeout=2).status_code == 200
        with (
            redis_container() as rc,
            PostgresContainer(POSTGRES_IMAGE, username="postgres", password=PG_PASSWORD, dbname="votes") as pc,
        ):
            client = rc.get_client(decode_responses=True)
            add_votes(client, ["a", "b"])
            add_votes(client, ["b"])  # voter 0 changes a -> b
            targets["redis"] = (rc.get_container_host_ip(), int(rc.get_exposed_port(6379)))
            targets["postgres"] = (pc.get_container_host_ip(), int(pc.get_exposed_port(5432)))
            wait_ready(port, proc, timeout=60)
            wait_drained(client, timeout=30)
            assert tally(env) == {"a": 0, "b": 2}
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        redis_front.close()
        pg_front.close()
