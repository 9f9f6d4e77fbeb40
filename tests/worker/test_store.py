import random
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest

from tests.support.env import settings_from
from tests.worker.helpers import tally_of, voter
from voting_common import schema
from voting_common.connections import pg_connect
from voting_common.contract import OPTIONS, Vote
from voting_common.settings import PostgresSettings
from worker_app.store import apply_votes

pytestmark = pytest.mark.integration

V1, V2 = voter(1), voter(2)


def rows(conn):
    with conn, conn.cursor() as cur:
        cur.execute("SELECT voter_id, choice FROM votes")
        return dict(cur.fetchall())


@pytest.mark.parametrize(
    ("batches", "applied", "final"),
    [
        pytest.param([[Vote(V1, "a", 10, 0), Vote(V2, "b", 11, 0)]] * 2, [2, 0], {V1: "a", V2: "b"}, id="same-twice"),
        pytest.param([[Vote(V1, "b", 20, 0)], [Vote(V1, "a", 10, 5)]], None, {V1: "b"}, id="older-never-overwrites"),
        pytest.param(  # within a batch the highest version wins, whatever the order
            [[Vote(V1, "a", 30, 2), Vote(V1, "b", 30, 1), Vote(V1, "b", 29, 9)]], None, {V1: "a"}, id="in-one-batch"
        ),
        pytest.param(  # changing a vote moves the tally
            [[Vote(V1, "a", 1, 0), Vote(V2, "a", 1, 1)], [Vote(V1, "b", 2, 0)]], None, {V1: "b", V2: "a"}, id="change"
        ),
    ],
)
def test_the_newest_version_of_each_voters_vote_is_counted_once(db, batches, applied, final):
    counts = [apply_votes(db, batch) for batch in batches]
    if applied is not None:
        assert counts == applied
    assert rows(db) == final
    assert schema.read_tally(db) == tally_of(final.values())


def test_any_delivery_order_with_duplicates_gives_the_same_final_state(db):
    rng = random.Random(7)
    history = []  # several votes per voter, increasing versions
    for v in range(200):
        for k in range(rng.randint(1, 4)):
            history.append(Vote(voter(v), rng.choice(OPTIONS), 1000 + v * 10 + k, 0))
    expected = {vote.voter_id: vote.option for vote in history}  # history is in version order per voter
    deliveries = history + rng.sample(history, 150)  # at-least-once: some twice
    rng.shuffle(deliveries)
    for start in range(0, len(deliveries), 37):
        apply_votes(db, deliveries[start : start + 37])
    assert rows(db) == expected
    assert schema.read_tally(db) == tally_of(expected.values())


def test_concurrent_writers_keep_the_tally_equal_to_the_votes(db, postgres_env):
    settings = settings_from(postgres_env, PostgresSettings)
    rng = random.Random(3)
    batches = [
        [Vote(voter(rng.randrange(300)), rng.choice(OPTIONS), n * 100 + i, 0) for i in range(50)] for n in range(40)
    ]

    def write(my_batches) -> None:
        with closing(pg_connect(settings, "store-test")) as conn:
            for batch in my_batches:
                apply_votes(conn, batch)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, (batches[i::4] for i in range(4))))  # any writer's error is raised here
    assert schema.read_tally(db) == tally_of(rows(db).values())
