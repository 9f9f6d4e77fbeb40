import random
import threading

import pytest

from tests.support.env import settings_from
from voting_common import schema
from voting_common.connections import pg_connect
from voting_common.contract import OPTIONS, Vote
from voting_common.settings import PostgresSettings
from worker_app.store import apply_votes

pytestmark = pytest.mark.integration


def voter(i: int) -> str:
    return f"{i:032x}"


@pytest.fixture
def db(pg_conn):
    schema.migrate(pg_conn)
    return pg_conn


def rows(conn):
    with conn, conn.cursor() as cur:
        cur.execute("SELECT voter_id, choice FROM votes")
        return dict(cur.fetchall())


def test_applying_the_same_batch_twice_changes_nothing(db):
    batch = [Vote(voter(1), "a", 10, 0), Vote(voter(2), "b", 11, 0)]
    assert apply_votes(db, batch) == 2
    assert apply_votes(db, batch) == 0
    assert schema.read_tally(db) == {"a": 1, "b": 1}


def test_an_older_vote_never_overwrites_a_newer_one(db):
    newer, older = Vote(voter(1), "b", 20, 0), Vote(voter(1), "a", 10, 5)
    apply_votes(db, [newer])
    apply_votes(db, [older])
    assert rows(db) == {voter(1): "b"}
    assert schema.read_tally(db) == {"a": 0, "b": 1}


def test_within_a_batch_the_highest_version_wins_whatever_the_order(db):
    apply_votes(db, [Vote(voter(1), "a", 30, 2), Vote(voter(1), "b", 30, 1), Vote(voter(1), "b", 29, 9)])
    assert rows(db) == {voter(1): "a"}
    assert schema.read_tally(db) == {"a": 1, "b": 0}


def test_changing_a_vote_moves_the_tally(db):
    apply_votes(db, [Vote(voter(1), "a", 1, 0), Vote(voter(2), "a", 1, 1)])
    apply_votes(db, [Vote(voter(1), "b", 2, 0)])
    assert schema.read_tally(db) == {"a": 1, "b": 1}


def test_any_delivery_order_with_duplicates_gives_the_same_final_state(db):
    rng = random.Random(7)
    history = []  # several votes per voter, increasing versions
    for v in range(200):
        for k in range(rng.randint(1, 4)):
            history.append(Vote(voter(v), rng.choice(OPTIONS), 1000 + v * 10 + k, 0))
    expected = {}
    for vote in history:
        expected[vote.voter_id] = vote.option  # history is in version order per voter
    deliveries = history + rng.sample(history, 150)  # at-least-once: some twice
    rng.shuffle(deliveries)
    for start in range(0, len(deliveries), 37):
        apply_votes(db, deliveries[start : start + 37])
    assert rows(db) == expected
    counted = schema.read_tally(db)
    assert counted == {"a": list(expected.values()).count("a"), "b": list(expected.values()).count("b")}


def test_concurrent_writers_keep_the_tally_equal_to_the_votes(db, postgres_env):
    settings = settings_from(postgres_env, PostgresSettings)
    rng = random.Random(3)
    batches = [
        [Vote(voter(rng.randrange(300)), rng.choice(OPTIONS), n * 100 + i, 0) for i in range(50)] for n in range(40)
    ]
    errors = []

    def write(my_batches):
        conn = pg_connect(settings, "store-test")
        try:
            for batch in my_batches:
                apply_votes(conn, batch)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=write, args=(batches[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = rows(db)
    assert schema.read_tally(db) == {"a": list(final.values()).count("a"), "b": list(final.values()).count("b")}
