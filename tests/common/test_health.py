"""/healthz and /readyz answer in one shape in every service: the two web apps and the worker."""

import pytest
import requests

from vote_app import create_app
from vote_app.settings import VoteSettings
from worker_app.health import HealthState, serve


def worker_get(port: int, path: str) -> tuple[int, dict]:
    response = requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)
    return response.status_code, response.json()


@pytest.fixture
def worker_health():
    state = HealthState()
    server = serve(state, 0)
    yield state, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_worker_and_a_web_app_answer_in_the_same_shape(worker_health):
    state, port = worker_health
    down_vote = create_app({"TESTING": True, "SETTINGS": VoteSettings(redis_host="127.0.0.1", redis_port=1)})
    web = down_vote.test_client()
    for path in ("/healthz", "/readyz"):
        assert set(web.get(path).json) == set(worker_get(port, path)[1]), path
    status, body = worker_get(port, "/readyz")  # nothing connected yet
    assert status == 503 and body["status"] == "unavailable" and body["service"] == "worker"
    assert "redis and postgres" in body["reason"] and body["host"]
    state.redis_ok = state.postgres_ok = True
    assert worker_get(port, "/readyz") == (200, {"status": "ok", "service": "worker", "host": body["host"]})
    ready = web.get("/readyz")
    assert ready.status_code == 503 and ready.json["service"] == "vote" and ready.json["status"] == "unavailable"
    assert "redis" in ready.json["reason"]
    # Skipping the named check (the Kubernetes probe): the page is served whatever Redis does.
    assert web.get("/readyz?exclude=redis").status_code == 200
    assert web.get("/readyz?exclude=postgres").status_code == 503  # a name it does not have skips nothing
    assert web.get("/healthz").json == {"status": "ok", "service": "vote", "host": body["host"]}
