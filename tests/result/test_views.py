import base64
import hashlib
import re
import time
from datetime import datetime

import pytest

from tooling.waiting import eventually
from voting_common import schema
from voting_common.contract import Vote
from worker_app.store import apply_votes

pytestmark = pytest.mark.integration


def wait_state(app, state, timeout=10):
    eventually(lambda: app.extensions["refresher"].snapshot.state == state, timeout, f"state {state}", 0.02)


def test_api_shows_zero_before_the_worker_created_the_schema(app):
    wait_state(app, "waiting_for_worker")
    body = app.test_client().get("/api/results").json
    assert body["total"] == 0
    assert body["options"] == [{"id": "a", "label": "Cats", "votes": 0}, {"id": "b", "label": "Dogs", "votes": 0}]
    assert app.test_client().get("/readyz").status_code == 200


def test_api_and_page_show_counts_and_percentages(app, pg_conn):
    schema.migrate(pg_conn)
    apply_votes(pg_conn, [Vote(f"{i:032x}", "a" if i < 3 else "b", i, 0) for i in range(4)])
    client = app.test_client()
    eventually(lambda: client.get("/api/results").json["total"] == 4, 10, "4 votes in the results", 0.02)
    body = client.get("/api/results").json
    as_of = body.pop("as_of")
    assert body == {
        "options": [{"id": "a", "label": "Cats", "votes": 3}, {"id": "b", "label": "Dogs", "votes": 1}],
        "total": 4,
        "state": "ok",
    }
    assert abs(datetime.fromisoformat(as_of).timestamp() - time.time()) < 60 and as_of.endswith("Z")
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert "75.0%" in page and "25.0%" in page and 'id="total">4<' in page
    # The bars before JavaScript runs: a style block the Content-Security-Policy admits by its hash.
    css = re.search(r"<style>(.*?)</style>", page).group(1)
    assert css == "#bar-a{width:75.0%}#bar-b{width:25.0%}"
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"style-src 'self' 'sha256-{digest}';" in response.headers["Content-Security-Policy"]
    assert "style=" not in page


def test_stream_sends_the_current_results_then_each_change(app, pg_conn, stream):
    schema.migrate(pg_conn)
    wait_state(app, "ok")
    response, message = stream(app)
    assert response.mimetype == "text/event-stream"
    assert message()["total"] == 0
    apply_votes(pg_conn, [Vote(f"{7:032x}", "b", 1, 0)])
    second = message()
    assert second["options"][1]["votes"] == 1 and second["total"] == 1


def test_unreachable_database_is_503_and_a_clear_page_state(down_app):
    wait_state(down_app, "database_unavailable")
    client = down_app.test_client()
    api = client.get("/api/results")
    assert api.status_code == 503 and api.json["options"] is None and "unavailable" in api.json["error"]
    assert api.json["as_of"] is None
    assert client.get("/readyz").status_code == 503
    # The probe Kubernetes uses skips the database: the page it serves says what is wrong, which
    # beats a refused connection.
    assert client.get("/readyz?exclude=postgres").status_code == 200
    assert client.get("/healthz").status_code == 200
    page = client.get("/").get_data(as_text=True)
    assert "cannot reach the database" in page
    assert 'id="pct-a">–<' in page and 'id="votes-b">–<' in page and 'id="total">–<' in page  # no fake 50/50
