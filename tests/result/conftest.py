import pytest

from result_app import create_app
from result_app.settings import ResultSettings
from tests.support.env import settings_from


@pytest.fixture
def make_app():
    apps = []

    def make(env: dict[str, str], **overrides):
        settings = settings_from(env, ResultSettings, refresh_interval_s=0.05, **overrides)
        app = create_app({"TESTING": True, "SETTINGS": settings})
        app.extensions["refresher"].start()  # as the first request would; these tests read it directly
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["refresher"].stop()


@pytest.fixture
def app(make_app, postgres_env):
    return make_app(postgres_env)


@pytest.fixture
def down_app(make_app):
    return make_app(
        {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "1", "POSTGRES_PASSWORD": "x"},
        postgres_connect_timeout=1,
        backoff_cap_s=0.2,
    )
