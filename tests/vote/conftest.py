import pytest

from tests.support.env import settings_from
from vote_app import create_app
from vote_app.settings import VoteSettings


@pytest.fixture
def app(redis_env):
    return create_app({"TESTING": True, "SETTINGS": settings_from(redis_env, VoteSettings)})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def down_app():
    """A vote app whose Redis is unreachable (nothing listens on that port)."""
    settings = VoteSettings(redis_host="127.0.0.1", redis_port=1, redis_timeout=0.5)
    return create_app({"TESTING": True, "SETTINGS": settings})
