"""Measurement 4: the result service's refresh latency with few and with many votes stored.

The stored votes are written straight into Postgres (rows of distinct voters, tally to match):
what is measured is reading, not writing. Two figures per size: the service's own
``result_refresh_seconds`` over a window (mean), and the same read (``schema.read_tally``)
timed from here many times (median, the figure). For contrast, the classic sample's ``count(*) ... GROUP BY``.
"""

from __future__ import annotations

import statistics
import time

from voting_common import schema

from .stack import BenchStack, metric


def store_votes(pg, count: int) -> None:
    with pg.cursor() as cur:
        cur.execute(schema.EMPTY_COUNTS)
        cur.execute(
            "INSERT INTO votes (voter_id, choice, version_ms, version_seq)"
            " SELECT lpad(to_hex(i), 32, '0'), CASE WHEN i %% 2 = 0 THEN 'a' ELSE 'b' END, i, 0"
            " FROM generate_series(1, %s) AS i",
            (count,),
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
        url = stack.metrics_url("result")
        sum0 = metric(url, "result_refresh_seconds_sum")
        n0 = metric(url, "result_refresh_seconds_count")
        time.sleep(window_s)
        sum1 = metric(url, "result_refresh_seconds_sum")
        n1 = metric(url, "result_refresh_seconds_count")
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
