"""Measurement 4: the result service's refresh latency with few and with many votes stored (bench/notes.md).
The votes are written straight into Postgres: what is measured is reading, not writing."""

from __future__ import annotations

import statistics
import time

from voting_common import schema
from voting_common.contract import OPTIONS

from .stack import BenchStack


def store_votes(pg, count: int) -> None:
    with pg.cursor() as cur:
        cur.execute(schema.EMPTY_COUNTS)
        cur.execute(
            "INSERT INTO votes (voter_id, choice, version_ms, version_seq)"
            " SELECT lpad(to_hex(i), 32, '0'), (%s::text[])[1 + i %% %s], i, 0 FROM generate_series(1, %s) AS i",
            (list(OPTIONS), len(OPTIONS), count),
        )
        cur.execute(
            "UPDATE tally t SET votes = c.n FROM (SELECT choice, count(*) AS n FROM votes GROUP BY choice) c"
            " WHERE t.choice = c.choice"
        )
        cur.execute("VACUUM ANALYZE votes, tally")


def _timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def one_size(stack: BenchStack, count: int, window_s: float, repeat: int) -> dict:
    pg = stack.pg()
    try:
        store_votes(pg, count)
        pg.autocommit = False  # read_tally runs in its own transaction, as in the service
        sum0, n0 = (stack.metric("result", f"result_refresh_seconds_{x}") for x in ("sum", "count"))
        time.sleep(window_s)
        sum1, n1 = (stack.metric("result", f"result_refresh_seconds_{x}") for x in ("sum", "count"))
        direct = _timed(lambda: schema.read_tally(pg), repeat)

        def count_star():
            with pg, pg.cursor() as cur:
                cur.execute("SELECT choice, count(*) FROM votes GROUP BY choice")
                cur.fetchall()

        naive = _timed(count_star, max(3, repeat // 200))
    finally:
        pg.close()
    return {
        "votes_stored": count,
        "service_refreshes": n1 - n0,
        "service_refresh_mean_ms": (sum1 - sum0) / (n1 - n0) * 1000 if n1 > n0 else None,
        "read_tally_median_ms": direct * 1000,
        "count_star_median_ms": naive * 1000,
    }


def measure(stack: BenchStack, small: int, large: int, window_s: float, repeat: int) -> dict:
    stack.workers(1)
    few = one_size(stack, small, window_s, repeat)
    many = one_size(stack, large, window_s, repeat)
    # The figure is the refresh read timed many times (median): the service's own histogram gives
    # only a mean over the ~4 refreshes/s of a window, which one descheduling on a shared machine skews.
    ratio = many["read_tally_median_ms"] / few["read_tally_median_ms"]
    return {
        "few": few,
        "many": many,
        "figure": many["read_tally_median_ms"],
        "baseline": few["read_tally_median_ms"],
        "ratio": ratio,
        "service_ratio": many["service_refresh_mean_ms"] / few["service_refresh_mean_ms"],
        "count_star_ratio": many["count_star_median_ms"] / few["count_star_median_ms"],
        "goal": f"ratio <= 1.5 at 1,000,000+ votes (here {large:,} vs {small:,})",
        "met": None if large < 1_000_000 else ratio <= 1.5,  # None: too few votes to judge
    }
