"""Results that say when counting has stalled: judged from the workers' progress in Postgres (read
with the tally, never from Redis), against real Postgres. The worker's reports are written here with
the worker's own functions; a stall threshold of 0.6 s keeps the tests short."""

import threading
import time
from contextlib import contextmanager
from datetime import datetime

import pytest

from result_app import views
from result_app.tally import OK, Snapshot
from tooling.waiting import eventually
from voting_common import schema
from voting_common.contract import Vote
from worker_app.store import Progress, apply_votes, beat

pytestmark = pytest.mark.integration

STALL_AFTER_S = 0.6


@pytest.fixture
def counting_app(make_app, postgres_env, pg_conn):
    schema.migrate(pg_conn)
    beat(pg_conn, "w1", 0)
    # Keep-alives every 0.2 s: a test reading the stream is never stuck waiting for a message.
    return make_app(postgres_env, counting_stall_after_s=STALL_AFTER_S, heartbeat_s=0.2)


def api(app) -> tuple[int, dict]:
    response = app.test_client().get("/api/results")
    return response.status_code, response.json


def state_is(app, state: str):
    return lambda: (r := api(app))[1]["state"] == state and r


@contextmanager
def reporting(pg_conn, waiting: int):
    """An alive worker, beating every 0.1 s, that reports ``waiting`` votes and counts nothing."""
    stop = threading.Event()

    def beats() -> None:
        while not stop.wait(0.1):
            beat(pg_conn, "w1", waiting)

    reporter = threading.Thread(target=beats)
    reporter.start()
    try:
        yield
    finally:
        stop.set()
        reporter.join()


def test_a_worker_that_stops_reporting_is_counting_stalled_since_its_last_report(counting_app, pg_conn):
    status, body = eventually(state_is(counting_app, "ok"), 10, "results ok", 0.02)
    assert status == 200 and "stalled_since" not in body
    # No more reports: nobody is counting, votes may be waiting.
    status, body = eventually(state_is(counting_app, "counting_stalled"), 10, "counting stalled", 0.02)
    assert status == 503 and body["waiting"] is None and body["total"] == 0
    assert body["error"].startswith("counting stalled: no worker has reported since")
    since = datetime.fromisoformat(body["stalled_since"])
    assert body["stalled_since"].endswith("Z") and datetime.fromisoformat(body["as_of"]) > since
    page = counting_app.test_client().get("/").get_data(as_text=True)
    assert f"votes may be waiting to be counted since {body['stalled_since'][11:19]} UTC" in page
    # A batch commits: counting is current again by itself.
    apply_votes(pg_conn, [Vote(f"{1:032x}", "a", 1, 0)], Progress("w1", 1, "1-0"))
    status, body = eventually(state_is(counting_app, "ok"), 10, "results ok again", 0.02)
    assert status == 200 and body["total"] == 1 and "waiting" not in body


def test_a_worker_that_reports_votes_waiting_without_progress_is_counting_stalled(counting_app, pg_conn):
    eventually(state_is(counting_app, "ok"), 10, "results ok", 0.02)
    with reporting(pg_conn, waiting=4):
        status, body = eventually(state_is(counting_app, "counting_stalled"), 10, "counting stalled", 0.02)
        assert status == 503 and body["waiting"] == 4
        assert body["error"] == f"counting stalled: 4 votes waiting, none counted since {body['stalled_since']}"
        page = counting_app.test_client().get("/").get_data(as_text=True)
        assert f"Not live: votes are waiting to be counted since {body['stalled_since'][11:19]} UTC." in page
    beat(pg_conn, "w1", 0)  # the votes were counted elsewhere (another replica): nothing waits
    eventually(state_is(counting_app, "ok"), 10, "results ok again", 0.02)


def test_an_idle_worker_is_never_counting_stalled(counting_app, pg_conn):
    """A worker up with no votes: reporting nothing waiting every 0.1 s for 5 s (over 8 thresholds),
    every answer is ok."""
    eventually(state_is(counting_app, "ok"), 10, "results ok", 0.02)
    # Every answer for 5 s is ok: waiting for any other times out.
    with reporting(pg_conn, waiting=0), pytest.raises(AssertionError, match="timed out after 5s waiting for a state"):
        eventually(lambda: (state := api(counting_app)[1]["state"]) != "ok" and state, 5, "a state other than ok", 0.05)


def test_the_stream_says_when_counting_stalls_and_when_it_is_current_again(counting_app, pg_conn, stream):
    eventually(state_is(counting_app, "ok"), 10, "results ok", 0.02)
    _response, message = stream(counting_app)
    assert message()["state"] == "ok"
    # The numbers do not change, only the judgement: the watcher must wake the stream.
    stalled = message()
    assert stalled["state"] == "counting_stalled" and stalled["stalled_since"]
    beat(pg_conn, "w1", 0)
    assert message()["state"] == "ok"


def test_stale_numbers_win_over_a_stalled_count(counting_app):
    """When the numbers cannot be read, nothing is known about counting: the state is stale."""
    now = time.time()
    stalled = schema.Counting(current_at=now - 100, current_age_s=100, beat_age_s=100, waiting=3)
    with counting_app.app_context():
        fresh = Snapshot({"a": 1, "b": 2}, OK, 1, None, now, stalled)
        assert views.payload(fresh)["state"] == "counting_stalled"
        old = Snapshot({"a": 1, "b": 2}, OK, 1, "timeout", now - 60, stalled)
        body = views.payload(old)
        assert body["state"] == "stale" and "stalled_since" not in body


def test_results_of_a_database_without_the_progress_table_are_read_but_not_judged(make_app, postgres_env, pg_conn):
    """A worker of an older version migrated the tally only (during a rolling update)."""
    schema.migrate(pg_conn)
    apply_votes(pg_conn, [Vote(f"{1:032x}", "b", 1, 0)])
    with pg_conn, pg_conn.cursor() as cur:
        cur.execute("DROP TABLE counting_progress")
    app = make_app(postgres_env, counting_stall_after_s=STALL_AFTER_S)
    status, body = eventually(lambda: (r := api(app))[1]["total"] == 1 and r, 10, "the tally", 0.02)
    assert status == 200 and body["state"] == "ok"
