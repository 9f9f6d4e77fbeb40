"""The database schema: written once here, migrated by the worker, read by the result service.

``votes`` holds one row per voter (their latest vote and its version); ``tally`` holds the
maintained count per option, so that reading results costs the same at 10 votes or 10 million.
"""

from __future__ import annotations

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
]

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


def read_tally(conn) -> dict[str, int] | None:
    """Votes per option from the maintained tally; None while the worker has not created it."""
    try:
        with transaction(conn), conn.cursor() as cur:
            cur.execute("SELECT choice, votes FROM tally")
            rows = cur.fetchall()
    except psycopg2.errors.UndefinedTable:
        return None
    counts = dict.fromkeys(OPTIONS, 0)
    counts.update({choice: int(votes) for choice, votes in rows if choice in counts})
    return counts
