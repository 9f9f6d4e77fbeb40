import threading

import pytest

from tests.support.env import settings_from
from tooling.waiting import eventually
from voting_common import schema
from worker_app.loop import Worker
from worker_app.settings import WorkerSettings


@pytest.fixture
def worker_env(redis_env, postgres_env) -> dict[str, str]:
    return {**redis_env, **postgres_env, "BLOCK_MS": "100", "LOG_LEVEL": "INFO"}


@pytest.fixture
def make_settings(worker_env):
    def make(**overrides) -> WorkerSettings:
        return settings_from(worker_env, WorkerSettings, **overrides)

    return make


@pytest.fixture
def worker_redis(make_settings):
    """A Redis client exactly as the worker makes it (replies not decoded)."""
    client = Worker(make_settings()).redis
    yield client
    client.close()


@pytest.fixture
def db(pg_conn):
    schema.migrate(pg_conn)
    return pg_conn


@pytest.fixture
def running(make_settings):
    """Start worker loops in threads, each once ready; stopped (and checked to have stopped) afterwards."""
    started: list[tuple[Worker, threading.Thread]] = []

    def start(**overrides) -> Worker:
        worker = Worker(make_settings(**overrides))
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


@pytest.fixture
def unacked(make_settings):
    """A connected worker that has read every queued vote and acknowledged none (as if it died then)."""

    def read(**overrides) -> tuple[Worker, list]:
        worker = Worker(make_settings(**overrides))
        worker._connect()
        worker._recover_own = False
        return worker, worker.queue.read_new(100, 100)

    return read
