import json

import pytest

from result_app import create_app
from result_app.settings import ResultSettings
from tests.support.env import settings_from
from tooling.waiting import eventually

UNREACHABLE = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "1", "POSTGRES_PASSWORD": "x"}


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
def make_down_app(make_app):
    """A result app whose database is unreachable (nothing listens on that port)."""
    return lambda **overrides: make_app(UNREACHABLE, postgres_connect_timeout=1, backoff_cap_s=0.2, **overrides)


@pytest.fixture
def down_app(make_down_app):
    return make_down_app()


@pytest.fixture
def stream():
    """Open an app's /stream; returns the response and a reader of its next message (keep-alive
    comments skipped). Closed afterwards."""
    opened = []

    def open_stream(app):
        response = app.test_client().get("/stream", buffered=False)
        opened.append(response)
        chunks = iter(response.response)
        assert next(chunks).startswith(b"retry:")

        def data() -> dict | None:
            chunk = next(chunks).decode()
            return json.loads(chunk.split("data: ", 1)[1]) if "data: " in chunk else None

        return response, lambda timeout=20: eventually(data, timeout, "a message on the stream", 0)

    yield open_stream
    for response in reversed(opened):
        response.close()
