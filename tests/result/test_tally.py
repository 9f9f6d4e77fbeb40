import threading

import psycopg2
import pytest

from result_app.tally import NO_SCHEMA, OK, QUERIES, UNAVAILABLE, Refresher
from tests.support.env import settings_from
from tooling.waiting import eventually
from voting_common import schema
from voting_common.connections import pg_connect
from voting_common.contract import Vote
from voting_common.settings import PostgresSettings
from worker_app.store import apply_votes

pytestmark = pytest.mark.integration


@pytest.fixture
def connect(postgres_env):
    settings = settings_from(postgres_env, PostgresSettings)
    return lambda: pg_connect(settings, "result-test")


def test_before_the_schema_exists_results_are_zero_not_an_error(connect):
    snap = Refresher(connect, 0.05).refresh_once()
    assert snap.state == NO_SCHEMA and snap.counts == {"a": 0, "b": 0}


def test_reads_the_maintained_tally_and_bumps_the_version_only_on_change(connect, pg_conn):
    refresher = Refresher(connect, 0.05)
    schema.migrate(pg_conn)
    first = refresher.refresh_once()
    assert first.state == OK and first.counts == {"a": 0, "b": 0}
    assert refresher.refresh_once().version == first.version
    apply_votes(pg_conn, [Vote(f"{1:032x}", "b", 1, 0)])
    second = refresher.refresh_once()
    assert second.counts == {"a": 0, "b": 1} and second.version == first.version + 1


def refused():
    """A connection to where nothing listens."""
    return psycopg2.connect(host="127.0.0.1", port=1, connect_timeout=1)


def test_an_unreachable_database_is_reported_never_shown_as_zero():
    refresher = Refresher(refused, 0.05)
    with pytest.raises(psycopg2.Error):
        refresher.refresh_once()
    assert refresher.snapshot.state == UNAVAILABLE and refresher.snapshot.counts is None


def test_database_queries_do_not_grow_with_the_number_of_viewers(connect, pg_conn):
    """200 viewers waiting on the refresher: each refresh is one query, and no viewer ever queries."""
    schema.migrate(pg_conn)
    refresher = Refresher(connect, 0.05)
    refresher.refresh_once()
    stop = threading.Event()
    seen: list[int] = [0] * 200

    def view(i: int) -> None:
        while not stop.is_set():
            seen[i] = refresher.wait_for_change(seen[i], timeout=0.2).version

    threads = [threading.Thread(target=view, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    before = QUERIES._value.get()
    try:
        for i in range(5):
            apply_votes(pg_conn, [Vote(f"{i:032x}", "a", i + 1, 0)])
            version = refresher.refresh_once().version
            eventually(lambda: min(seen) == version, 10, "every viewer to see the change")  # noqa: B023
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert QUERIES._value.get() - before == 5


def test_recovers_by_itself_when_the_database_comes_back(connect, pg_conn):
    available = threading.Event()
    schema.migrate(pg_conn)
    refresher = Refresher(lambda: connect() if available.is_set() else refused(), 0.05, backoff_cap_s=0.2)
    refresher.start()
    try:
        eventually(lambda: refresher.snapshot.state == UNAVAILABLE, 10, "the database reported unavailable")
        available.set()
        eventually(lambda: refresher.snapshot.state == OK, 10, "the refresher to recover")
        assert refresher.snapshot.counts == {"a": 0, "b": 0}
    finally:
        refresher.stop()
