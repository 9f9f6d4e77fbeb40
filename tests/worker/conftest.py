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
