"""A Postgres that stops answering (frozen, not down): the results say they are not live, with the
last numbers and when they were read, and return to live by themselves once it answers again."""

import time
from datetime import datetime

import pytest

from result_app.tally import DB_ERRORS
from tooling.waiting import eventually
from voting_common import schema
from voting_common.contract import Vote
from worker_app.store import apply_votes

pytestmark = pytest.mark.integration

STALE_AFTER_S = 0.5


@pytest.fixture
def live_app(make_app, postgres_env, pg_conn):
    schema.migrate(pg_conn)
    apply_votes(pg_conn, [Vote(f"{i:032x}", "a" if i < 2 else "b", i + 1, 0) for i in range(3)])
    # Keep-alives every 0.2 s: a test reading the stream is never stuck waiting for a message.
    app = make_app(postgres_env, stale_after_s=STALE_AFTER_S, postgres_timeout=1, heartbeat_s=0.2)
    client = app.test_client()
    eventually(lambda: client.get("/api/results").json["total"] == 3, 10, "3 votes in the results", 0.02)
    return app


def as_of(body: dict) -> float:
    return datetime.fromisoformat(body["as_of"]).timestamp()


def test_a_frozen_database_turns_the_numbers_stale_and_they_come_back_live(live_app, freeze_postgres):
    client = live_app.test_client()
    errors_before = DB_ERRORS._value.get()
    with freeze_postgres():
        stale = eventually(
            lambda: (r := client.get("/api/results")).status_code == 503 and r.json, 10, "results reported stale", 0.05
        )
        assert stale["state"] == "stale" and "not answering" in stale["error"]
        assert [o["votes"] for o in stale["options"]] == [2, 1] and stale["total"] == 3  # the last numbers
        assert time.time() - as_of(stale) > STALE_AFTER_S
        page = client.get("/").get_data(as_text=True)
        assert f"as of {stale['as_of'][11:19]} UTC — the database is not answering" in page
        assert 'id="total">3<' in page
        # Health answers at once whatever the refresher is stuck in: not live, but still worth serving.
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "not live" in ready.json["reason"]
        assert client.get("/readyz?exclude=postgres").status_code == 200
        # The hung read is given up within its deadline (and counted), not waited on for ever.
        eventually(lambda: DB_ERRORS._value.get() > errors_before, 10, "the hung read to fail", 0.05)
    live = eventually(
        lambda: (r := client.get("/api/results")).status_code == 200 and r.json, 30, "results live again", 0.05
    )
    assert live["state"] == "ok" and live["total"] == 3 and as_of(live) > as_of(stale)
    assert client.get("/readyz").status_code == 200


def test_the_event_stream_says_stale_then_live_again(live_app, freeze_postgres, stream):
    _response, message = stream(live_app)
    assert message()["state"] == "ok"
    with freeze_postgres():
        stale = message()  # the stream is told without any new numbers arriving
        assert stale["state"] == "stale" and stale["total"] == 3 and stale["as_of"]
    assert message()["state"] == "ok"
