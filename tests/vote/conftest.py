import pytest

from tests.support.env import settings_from
from vote_app import create_app
from vote_app.settings import VoteSettings


@pytest.fixture
def make_app(redis_env):
    """A vote app on the test Redis; keyword arguments override its settings."""
    return lambda **overrides: create_app(
        {"TESTING": True, "SETTINGS": settings_from(redis_env, VoteSettings, **overrides)}
    )


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def down_app():
    """A vote app whose Redis is unreachable (nothing listens on that port)."""
    settings = VoteSettings(redis_host="127.0.0.1", redis_port=1, redis_timeout=0.5)
    return create_app({"TESTING": True, "SETTINGS": settings})
