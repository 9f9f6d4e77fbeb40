"""Writing a batch of votes to Postgres in one transaction, idempotently and order-independently."""

from __future__ import annotations

from collections.abc import Sequence

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


def apply_votes(conn, votes: Sequence[Vote]) -> int:
    """Commit the votes; returns how many rows changed (0 for a batch already applied)."""
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
        return cur.fetchone()[0]
