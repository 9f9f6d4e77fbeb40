"""Measurement 2: a pre-filled backlog drained to Postgres by 1 and 2 workers, against a plain COPY."""

from __future__ import annotations

import io
import random
import time

from loadgen.voters import VotePlan, voter_id
from tooling.waiting import eventually
from voting_common import schema
from voting_common.contract import DEAD_LETTER_STREAM, GROUP, OPTIONS, STREAM, encode

from .stack import BenchStack, cpu_us_per

FILL_CHUNK = 5000


def stream_order(plan: VotePlan) -> list[tuple[str, str]]:
    """(voter, option) in stream order: every first vote, then the changed votes in random order,
    so a change mostly lands in a later batch than the vote it replaces (as in real traffic)."""
    firsts: list[tuple[str, str]] = []
    changes: list[tuple[str, str]] = []
    for index, ballot in enumerate(plan.ballots()):
        voter = voter_id(plan.seed, index)
        firsts.append((voter, ballot[0]))
        changes.extend((voter, option) for option in ballot[1:])
    random.Random(plan.seed).shuffle(changes)
    return firsts + changes


def fill(client, votes: list[tuple[str, str]]) -> list[tuple[str, str, int, int]]:
    """XADD every vote (pipelined) and return the rows as the worker will see them."""
    rows = []
    for start in range(0, len(votes), FILL_CHUNK):
        chunk = votes[start : start + FILL_CHUNK]
        with client.pipeline(transaction=False) as pipe:
            for voter, option in chunk:
                pipe.xadd(STREAM, encode(voter, option))
            ids = pipe.execute()
        for (voter, option), entry_id in zip(chunk, ids, strict=True):
            ms, _, seq = entry_id.decode().partition("-")
            rows.append((voter, option, int(ms), int(seq)))
    return rows


def reset_tables(pg) -> None:
    with pg.cursor() as cur:
        cur.execute(schema.EMPTY_COUNTS)
        cur.execute("VACUUM ANALYZE votes, tally")


def wait_drained(client, timeout_s: float) -> float:
    """Poll until the stream is empty (every entry applied, acknowledged and deleted)."""

    def drained_at() -> float | None:
        with client.pipeline(transaction=False) as pipe:
            pipe.xlen(STREAM)
            pipe.xpending(STREAM, GROUP)
            length, pending = pipe.execute()
        return time.monotonic() if length == 0 and pending["pending"] == 0 else None

    return eventually(drained_at, timeout_s, "the backlog to drain", 0.02)


def drain_once(stack: BenchStack, workers: int, voters: int, seed: int) -> tuple[dict, list[tuple[str, str, int, int]]]:
    plan = VotePlan(voters, share_a=0.5, change_share=0.2, seed=seed)
    votes = stream_order(plan)
    stack.workers(workers)
    client, pg = stack.redis(), stack.pg()
    try:
        wait_drained(client, timeout_s=300)  # whatever an earlier measurement queued
        stack.compose("pause", "worker")
        try:
            reset_tables(pg)
            client.delete(DEAD_LETTER_STREAM)
            rows = fill(client, votes)
        finally:
            cpu_before = stack.cpu_ns("worker", "redis", "db")
            started = time.monotonic()
            stack.compose("unpause", "worker")
        seconds = wait_drained(client, timeout_s=max(120.0, len(votes) / 2000)) - started
        cpu = cpu_us_per(cpu_before, stack.cpu_ns(*cpu_before), len(votes))
        tally = schema.read_tally(pg)
        with pg.cursor() as cur:
            cur.execute("SELECT count(*) FROM votes")
            stored = cur.fetchone()[0]
        expected = plan.expected()
        correct = tally == {o: expected[o] for o in OPTIONS} and stored == voters
        if not correct:
            raise AssertionError(f"drain with {workers} worker(s): tally {tally}, rows {stored}, expected {expected}")
        return {
            "workers": workers,
            "votes": len(votes),
            "voters": voters,
            "seconds": seconds,
            "votes_per_s": len(votes) / seconds,
            "totals_exact": correct,
            **{f"{name}_cpu_us_per_vote": us for name, us in cpu.items()},
        }, rows
    finally:
        client.close()
        pg.close()


def copy_baseline(stack: BenchStack, rows: list[tuple[str, str, int, int]]) -> dict:
    """The same rows with a plain COPY into a table of the same columns (no key: duplicates allowed)."""
    buf = io.StringIO("".join(f"{v}\t{c}\t{ms}\t{seq}\n" for v, c, ms, seq in rows))
    pg = stack.pg()
    try:
        with pg.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_copy")
            cur.execute("CREATE TABLE bench_copy (voter_id text, choice text, version_ms bigint, version_seq bigint)")
            pg.autocommit = False
            started = time.monotonic()
            cur.copy_expert("COPY bench_copy FROM STDIN", buf)
            pg.commit()
            seconds = time.monotonic() - started
            pg.autocommit = True
            cur.execute("DROP TABLE bench_copy")
    finally:
        pg.close()
    return {"rows": len(rows), "seconds": seconds, "rows_per_s": len(rows) / seconds}


def measure(stack: BenchStack, voters: int) -> dict:
    one, rows = drain_once(stack, 1, voters, seed=501)
    two, _ = drain_once(stack, 2, voters, seed=502)
    stack.workers(1)
    copy = copy_baseline(stack, rows)
    return {
        "one_worker": one,
        "two_workers": two,
        "copy": copy,
        "figure": one["votes_per_s"],
        "baseline": copy["rows_per_s"],
        "ratio": one["votes_per_s"] / copy["rows_per_s"],
        "goal": ">= 20000 votes/s with 1 worker",
        "met": one["votes_per_s"] >= 20000,
    }
