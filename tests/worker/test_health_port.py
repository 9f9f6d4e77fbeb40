"""The worker's health port under slow clients, against a real worker process: each connection is cut
after HEALTH_CLIENT_TIMEOUT_S, at most HEALTH_MAX_CONNECTIONS are served at once (threads do not
grow with the clients), the loop keeps counting meanwhile, and probes are answered once they are gone."""

from pathlib import Path

import pytest

from tests.support import hostile
from tests.support.processes import start_worker, wait_ready
from tests.worker.helpers import enqueue_votes, tally, wait_drained
from tooling.waiting import eventually

pytestmark = pytest.mark.integration

CLIENT_TIMEOUT_S, MAX_CONNECTIONS, SLOW_CLIENTS, TICK_S = 2.0, 4, 40, 0.5
SLOW_PROBE = hostile.Pattern(b"GET /readyz HTTP/1.1\r\nHost: worker\r\n", b"X-Slow: 1\r\n")


def threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def test_slow_clients_cannot_hold_the_health_port_or_stall_the_loop(worker_env, redis_client, postgres_env, tmp_path):
    env = {
        **worker_env,
        "HEALTH_CLIENT_TIMEOUT_S": str(CLIENT_TIMEOUT_S),
        "HEALTH_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    proc, port = start_worker(env, tmp_path / "worker.log")
    try:
        wait_ready(port, proc)
        idle_threads = threads(proc.pid)
        most = idle_threads

        def sampled(done: bool) -> bool:
            nonlocal most
            most = max(most, threads(proc.pid))
            assert proc.poll() is None
            return done

        with hostile.hold(("127.0.0.1", port), SLOW_CLIENTS, SLOW_PROBE, CLIENT_TIMEOUT_S * 4, TICK_S) as held:
            # The loop counts while the port is flooded, and every first slow client is cut.
            expected = enqueue_votes(redis_client, 2_000, 200)
            wait_drained(redis_client)
            assert tally(postgres_env) == expected
            eventually(lambda: sampled(held.cut >= SLOW_CLIENTS), CLIENT_TIMEOUT_S * 4, "every slow client cut")
        assert most <= idle_threads + MAX_CONNECTIONS, (most, idle_threads)
        # Those served were cut at the deadline; the rest were closed at once.
        assert max(held.lifetimes) <= CLIENT_TIMEOUT_S + TICK_S + 1.0, sorted(held.lifetimes)[-5:]
        wait_ready(port, proc, timeout=CLIENT_TIMEOUT_S + 1)
    finally:
        proc.terminate()
        proc.wait(30)
