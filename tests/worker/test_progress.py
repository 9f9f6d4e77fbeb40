"""The worker's progress in Postgres: written in the transaction of each batch (a batch that does not
commit does not advance it), and on a heartbeat that reports the votes waiting in Redis. Against real
Redis and Postgres."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import psycopg2
import pytest
from psycopg2.extras import RealDictCursor

from tests.support.env import settings_from
from tests.worker.helpers import add_votes, voter
from tooling.waiting import eventually
from voting_common import schema
from voting_common.connections import pg_connect
from voting_common.contract import GROUP, STREAM, Vote, encode
from voting_common.settings import PostgresSettings
from worker_app.loop import Worker
from worker_app.store import Progress, apply_votes, beat, forget_gone_workers

pytestmark = pytest.mark.integration


def progress_row(conn, consumer: str) -> dict | None:
    conn.rollback()  # a fresh snapshot
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(
            "SELECT counted, last_entry, waiting, beat_at, progressed_at, current_at"
            " FROM counting_progress WHERE consumer = %s",
            (consumer,),
        )
        row = cur.fetchone()
    conn.rollback()
    return row


def test_a_batch_records_its_progress_with_its_votes(db):
    apply_votes(db, [Vote(voter(1), "a", 1, 0), Vote(voter(2), "b", 1, 1)], Progress("w1", 2, "1-1"))
    first = progress_row(db, "w1")
    assert (first["counted"], first["last_entry"]) == (2, "1-1")
    assert first["progressed_at"] == first["current_at"] == first["beat_at"]
    apply_votes(db, [Vote(voter(3), "a", 2, 0)], Progress("w1", 1, "2-0"))
    second = progress_row(db, "w1")
    assert (second["counted"], second["last_entry"]) == (3, "2-0")
    assert second["current_at"] > first["current_at"]


def test_a_batch_that_does_not_commit_does_not_advance_the_progress(db, postgres_env):
    """The worker's session is killed while its batch waits (votes written, not committed): neither the
    votes nor the progress are there afterwards; and a failing progress write takes the votes with it."""
    apply_votes(db, [Vote(voter(1), "a", 1, 0)], Progress("w1", 1, "1-0"))
    before = progress_row(db, "w1")
    settings = settings_from(postgres_env, PostgresSettings)
    worker_conn, blocker = pg_connect(settings, "worker/w1"), pg_connect(settings, "tests-blocker")
    worker_pid = worker_conn.get_backend_pid()
    with ThreadPoolExecutor(1) as pool, closing(worker_conn), closing(blocker):  # the lock goes with the blocker
        with blocker.cursor() as cur:
            cur.execute("LOCK TABLE counting_progress IN ACCESS EXCLUSIVE MODE")
        batch = pool.submit(apply_votes, worker_conn, [Vote(voter(2), "b", 2, 0)], Progress("w1", 1, "2-0"))

        def waiting_on_the_lock() -> bool:
            db.rollback()
            with db.cursor() as cur:
                cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (worker_pid,))
                row = cur.fetchone()
            return row is not None and row[0] == "Lock"

        eventually(waiting_on_the_lock, 10, "the batch to wait on the progress row", 0.02)
        with db.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (worker_pid,))
        db.commit()
        with pytest.raises(psycopg2.OperationalError):
            batch.result(10)
    assert schema.read_tally(db) == {"a": 1, "b": 0}
    assert progress_row(db, "w1") == before
    # The other way round: a progress write that fails (here: a negative count) rolls back the votes.
    with pytest.raises(psycopg2.errors.CheckViolation):
        apply_votes(db, [Vote(voter(3), "b", 3, 0)], Progress("w1", -5, "3-0"))
    assert schema.read_tally(db) == {"a": 1, "b": 0}
    assert progress_row(db, "w1") == before


def test_a_heartbeat_makes_counting_current_only_when_nothing_waits(db):
    beat(db, "w1", 0)
    idle = progress_row(db, "w1")
    assert idle is not None and idle["current_at"] == idle["beat_at"] and idle["waiting"] == 0
    beat(db, "w1", 7)  # alive, but votes wait: beating alone does not make counting current
    stuck = progress_row(db, "w1")
    assert stuck is not None and stuck["waiting"] == 7
    assert stuck["beat_at"] > idle["beat_at"] and stuck["current_at"] == idle["current_at"]
    results = schema.read_results(db)
    assert results is not None and results.counting is not None
    assert results.counting.waiting == 7
    assert results.counting.current_age_s >= results.counting.beat_age_s >= 0
    beat(db, "w1", 0)
    again = progress_row(db, "w1")
    assert again is not None and again["current_at"] > stuck["beat_at"]


def test_the_freshest_worker_decides_and_rows_of_gone_workers_are_forgotten(db):
    beat(db, "gone", 3)
    with db, db.cursor() as cur:
        cur.execute("UPDATE counting_progress SET beat_at = now() - interval '2 hours', current_at = beat_at")
    beat(db, "alive", 0)
    results = schema.read_results(db)
    assert results is not None and results.counting is not None
    assert results.counting.waiting == 0 and results.counting.current_age_s < 60
    assert forget_gone_workers(db, "alive", 3600) == 1
    assert progress_row(db, "gone") is None and progress_row(db, "alive") is not None


def test_an_idle_worker_keeps_reporting_and_a_busy_one_records_what_it_counted(make_settings, redis_client, pg_conn):
    worker = Worker(make_settings(worker_name="w1", counting_heartbeat_s=0.1, counting_stall_after_s=1))
    worker._connect()
    assert worker.block_ms == 100  # an empty queue never blocks a heartbeat
    worker.step()
    first = progress_row(pg_conn, "w1")
    assert first is not None and first["waiting"] == 0

    def beaten_again() -> bool:
        worker.step()
        row = progress_row(pg_conn, "w1")
        return row is not None and row["beat_at"] > first["beat_at"] and row["current_at"] > first["current_at"]

    eventually(beaten_again, 10, "another heartbeat", 0)
    ids = add_votes(redis_client, ["a"] * 5)
    eventually(lambda: worker.step() == 5, 10, "the batch", 0)
    row = progress_row(pg_conn, "w1")
    assert row is not None and (row["counted"], row["last_entry"]) == (5, ids[-1])
    assert schema.read_tally(pg_conn) == {"a": 5, "b": 0}


def test_votes_held_where_nobody_can_count_them_make_the_worker_not_ready(running, redis_client, pg_conn):
    """Another consumer holds a vote (a frozen replica) that this worker may not take over yet: the
    worker sees it waiting, cannot progress, and says so; once it is handled, ready again."""
    worker = running(worker_name="w1", counting_heartbeat_s=0.1, counting_stall_after_s=0.5, claim_idle_ms=3_600_000)
    # Delivered to a replica that froze, in one transaction: this worker's blocked read cannot get it.
    with redis_client.pipeline(transaction=True) as pipe:
        pipe.xadd(STREAM, encode(voter(1), "a"))
        pipe.xreadgroup(GROUP, "frozen", {STREAM: ">"})
        entry, delivered = pipe.execute()
    assert delivered, "the vote was not delivered to the frozen replica"
    reason = eventually(worker.health.ready, 10, "the worker not ready", 0.05)
    assert reason.startswith("1 votes waiting, none counted for")
    results = schema.read_results(pg_conn)
    assert results is not None and results.counting is not None and results.counting.waiting == 1
    # The frozen replica comes back and finishes its batch (acknowledged and deleted).
    redis_client.xack(STREAM, GROUP, entry)
    redis_client.xdel(STREAM, entry)
    eventually(lambda: worker.health.ready() is None, 10, "the worker ready again", 0.05)
    assert worker.health.seconds_behind() == 0
