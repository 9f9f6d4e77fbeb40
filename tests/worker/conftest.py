import pytest

from tests.support.env import settings_from
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
    from worker_app.loop import Worker

    client = Worker(make_settings()).redis
    yield client
    client.close()
