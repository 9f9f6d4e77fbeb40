"""Writing a batch of votes to Postgres in one transaction, idempotently and order-independently,
together with the worker's progress; and the worker's heartbeat while it has nothing to count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voting_common.contract import Vote
from voting_common.pgwait import transaction

# Writers serialise on the tally rows (plain readers are not blocked), so that the votes a batch
# replaces are exactly the rows it saw: the tally can never drift from the votes table.
LOCK_SQL = "SELECT choice FROM tally ORDER BY choice FOR UPDATE"

# One statement: keep each voter's newest vote of the batch, upsert it unless Postgres already has a
# newer (or the same) version, and move the tally by what actually changed.
APPLY_SQL = """
WITH incoming AS (
    SELECT DISTINCT ON (voter_id) voter_id, choice, version_ms, version_seq
    FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[])
         AS t(voter_id, choice, version_ms, version_seq)
    ORDER BY voter_id, version_ms DESC, version_seq DESC
),
previous AS (
    SELECT v.voter_id, v.choice FROM votes v JOIN incoming USING (voter_id)
),
written AS (
    INSERT INTO votes AS v (voter_id, choice, version_ms, version_seq)
    SELECT voter_id, choice, version_ms, version_seq FROM incoming
    ON CONFLICT (voter_id) DO UPDATE
        SET choice = EXCLUDED.choice, version_ms = EXCLUDED.version_ms,
            version_seq = EXCLUDED.version_seq, updated_at = now()
        WHERE (v.version_ms, v.version_seq) < (EXCLUDED.version_ms, EXCLUDED.version_seq)
    RETURNING voter_id, choice
),
delta AS (
    SELECT choice, sum(d) AS d FROM (
        SELECT choice, 1 AS d FROM written
        UNION ALL
        SELECT p.choice, -1 FROM previous p JOIN written w USING (voter_id)
    ) moves GROUP BY choice
),
counted AS (
    UPDATE tally t SET votes = t.votes + delta.d FROM delta
    WHERE t.choice = delta.choice AND delta.d <> 0
    RETURNING t.choice
)
SELECT count(*) FROM written
"""


# The progress of one worker (its row of counting_progress, see voting_common.schema). Each worker
# writes only its own row, so workers never wait on each other here.
PROGRESS_SQL = """
INSERT INTO counting_progress AS p (consumer, counted, last_entry, progressed_at) VALUES (%s, %s, %s, now())
ON CONFLICT (consumer) DO UPDATE
    SET counted = p.counted + EXCLUDED.counted, last_entry = EXCLUDED.last_entry,
        beat_at = now(), progressed_at = now(), current_at = now()
"""

# A heartbeat: the worker is alive and saw ``waiting`` votes in Redis. With none waiting, counting is
# current; with some, it stays as current as the last batch made it (a worker that cannot progress
# does not look current by beating).
BEAT_SQL = """
INSERT INTO counting_progress AS p (consumer, waiting) VALUES (%s, %s)
ON CONFLICT (consumer) DO UPDATE
    SET waiting = EXCLUDED.waiting, beat_at = now(),
        current_at = CASE WHEN EXCLUDED.waiting = 0 THEN now() ELSE p.current_at END
"""

# Rows of workers gone for good (a pod's name is not reused); the freshest row decides anyway.
FORGET_SQL = "DELETE FROM counting_progress WHERE consumer <> %s AND beat_at < now() - make_interval(secs => %s)"


@dataclass(frozen=True)
class Progress:
    consumer: str  # the worker's Redis consumer name
    entries: int  # stream entries this batch handled
    last_entry: str  # the last of them, as read


def apply_votes(conn, votes: Sequence[Vote], progress: Progress | None = None) -> int:
    """Commit the votes (and the progress, in the same transaction); returns how many rows changed
    (0 for a batch already applied)."""
    if not votes:
        return 0
    with transaction(conn), conn.cursor() as cur:
        cur.execute(LOCK_SQL)
        cur.execute(
            APPLY_SQL,
            (
                [v.voter_id for v in votes],
                [v.option for v in votes],
                [v.version_ms for v in votes],
                [v.version_seq for v in votes],
            ),
        )
        changed = cur.fetchone()[0]
        if progress is not None:
            cur.execute(PROGRESS_SQL, (progress.consumer, progress.entries, progress.last_entry))
        return changed


def record_progress(conn, progress: Progress) -> None:
    """Progress of a batch that wrote no vote (only malformed or already deleted entries)."""
    with transaction(conn), conn.cursor() as cur:
        cur.execute(PROGRESS_SQL, (progress.consumer, progress.entries, progress.last_entry))


def beat(conn, consumer: str, waiting: int) -> None:
    with transaction(conn), conn.cursor() as cur:
        cur.execute(BEAT_SQL, (consumer, waiting))


def forget_gone_workers(conn, consumer: str, idle_s: float) -> int:
    """Delete the progress rows of other workers silent for ``idle_s``; returns how many."""
    with transaction(conn), conn.cursor() as cur:
        cur.execute(FORGET_SQL, (consumer, idle_s))
        return cur.rowcount
