"""The factory starts no thread; the first request of any kind starts the refresher."""

from __future__ import annotations

import pytest

from result_app import create_app
from result_app.settings import ResultSettings


@pytest.mark.parametrize("path", ["/readyz?exclude=postgres", "/healthz", "/nowhere"])
def test_the_first_request_of_any_kind_starts_the_refresher(path):
    settings = ResultSettings(postgres_host="127.0.0.1", postgres_port=1, postgres_connect_timeout=1)
    app = create_app({"TESTING": True, "SETTINGS": settings})
    refresher = app.extensions["refresher"]
    try:
        assert not refresher.started  # create_app has no side effects
        app.test_client().get(path)  # e.g. Kubernetes' readiness probe, which skips the database
        assert refresher.started
    finally:
        refresher.stop()
