"""The database schema: written once here, migrated by the worker, read by the result service.

``votes`` holds one row per voter (their latest vote and its version); ``tally`` holds the
maintained count per option, so that reading results costs the same at 10 votes or 10 million.
``counting_progress`` holds one row per worker (Redis consumer): how far it has counted and when
counting was last current, so that the result service can tell counting that keeps up from
counting that has stalled without ever talking to Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg2
import psycopg2.errors

from .contract import OPTIONS
from .pgwait import transaction

# Each entry: (version, SQL). Append only; never edit a migration that has shipped.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE votes (
            voter_id    text PRIMARY KEY,
            choice      text NOT NULL,
            version_ms  bigint NOT NULL,
            version_seq bigint NOT NULL,
            updated_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE tally (
            choice text PRIMARY KEY,
            votes  bigint NOT NULL DEFAULT 0 CHECK (votes >= 0)
        );
        """,
    ),
    (
        2,
        # Written by each worker in the transaction of every batch and on a heartbeat; every time is
        # the database's now(), and the result service judges ages in the same clock.
        # current_at: the last moment this worker had counted everything it saw waiting (a batch
        # committed, or a heartbeat found no vote waiting in Redis).
        """
        CREATE TABLE counting_progress (
            consumer      text PRIMARY KEY,
            counted       bigint NOT NULL DEFAULT 0 CHECK (counted >= 0),
            last_entry    text,
            waiting       bigint NOT NULL DEFAULT 0 CHECK (waiting >= 0),
            beat_at       timestamptz NOT NULL DEFAULT now(),
            progressed_at timestamptz,
            current_at    timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
]

# For tests and benchmarks, the two ways to start over, beside the tables they name. EMPTY_COUNTS
# keeps the schema that a running worker uses; DROP_ALL leaves a database on which migrate() starts
# from nothing.
EMPTY_COUNTS = "TRUNCATE votes; UPDATE tally SET votes = 0;"
DROP_ALL = "DROP TABLE IF EXISTS votes, tally, counting_progress, schema_migrations;"

_LOCK_KEY = 7_165_431  # pg_advisory_xact_lock key: one migrator at a time across worker replicas


def migrate(conn) -> int:
    """Bring the schema up to date in one transaction; safe to run from many workers at once.

    Returns the schema version now in place.
    """
    with transaction(conn), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        current = cur.fetchone()[0]
        for version, sql in MIGRATIONS:
            if version > current:
                cur.execute(sql)
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                current = version
        cur.execute(
            "INSERT INTO tally (choice) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
            (list(OPTIONS),),
        )
    return current


@dataclass(frozen=True)
class Counting:
    """What the workers last reported, with ages measured by the database's own clock."""

    current_at: float  # epoch seconds (database clock): counting was last known to be current
    current_age_s: float  # how long ago that was, when read
    beat_age_s: float  # how long ago any worker last reported, when read
    waiting: int  # votes the freshest report saw waiting in Redis (backlog plus pending)


@dataclass(frozen=True)
class Results:
    counts: dict[str, int]
    counting: Counting | None  # None: no worker has reported yet (or its table is not there yet)


# One query, one round trip: the two tally rows, each with the same aggregate of the workers' rows
# (one per worker). Its cost does not grow with the votes, nor with the viewers.
RESULTS_SQL = """
SELECT t.choice, t.votes,
       extract(epoch FROM p.current_at), extract(epoch FROM now() - p.current_at),
       extract(epoch FROM now() - p.beat_at), p.waiting
FROM tally t CROSS JOIN (
    SELECT max(current_at) AS current_at, max(beat_at) AS beat_at,
           (SELECT waiting FROM counting_progress ORDER BY beat_at DESC LIMIT 1) AS waiting
    FROM counting_progress
) p
"""


def read_results(conn) -> Results | None:
    """The tally and the workers' progress; None while the worker has not created the tally."""
    try:
        with transaction(conn), conn.cursor() as cur:
            cur.execute(RESULTS_SQL)
            rows = cur.fetchall()
    except psycopg2.errors.UndefinedTable:
        # A tally without the progress table: a worker of an older version migrated it (rolling update).
        counts = _read_counts_only(conn)
        return None if counts is None else Results(counts, None)
    counts = dict.fromkeys(OPTIONS, 0)
    counts.update({row[0]: int(row[1]) for row in rows if row[0] in counts})
    first = rows[0] if rows else None
    if first is None or first[2] is None:
        return Results(counts, None)
    return Results(counts, Counting(float(first[2]), float(first[3]), float(first[4]), int(first[5])))


def _read_counts_only(conn) -> dict[str, int] | None:
    try:
        with transaction(conn), conn.cursor() as cur:
            cur.execute("SELECT choice, votes FROM tally")
            rows = cur.fetchall()
    except psycopg2.errors.UndefinedTable:
        return None
    counts = dict.fromkeys(OPTIONS, 0)
    counts.update({choice: int(votes) for choice, votes in rows if choice in counts})
    return counts


def read_tally(conn) -> dict[str, int] | None:
    """Votes per option, as the result service reads them; None while the worker has not created them."""
    results = read_results(conn)
    return None if results is None else results.counts
