"""Measurement 5: many concurrent /stream viewers on one result container.

Database queries per second come from the service's own ``result_db_queries_total`` (and, as a
cross-check, Postgres' committed transactions, which the idle worker does not add to), first with
no viewer, then with all viewers connected; memory from ``docker stats``. While the viewers are
connected a few votes are cast, and each viewer must receive the final total.
"""

from __future__ import annotations

import asyncio
import resource
import time

import aiohttp
import requests

from .asyncload import Viewer, sse_viewer
from .stack import BenchStack, metric


def _xact_commit(stack: BenchStack) -> int:
    pg = stack.pg()
    try:
        with pg.cursor() as cur:
            cur.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            return int(cur.fetchone()[0])
    finally:
        pg.close()


def _rates(stack: BenchStack, window_s: float) -> dict:
    url = stack.metrics_url("result")
    q0, x0, t0 = metric(url, "result_db_queries_total"), _xact_commit(stack), time.monotonic()
    time.sleep(window_s)
    q1, x1, t1 = metric(url, "result_db_queries_total"), _xact_commit(stack), time.monotonic()
    return {
        "queries_per_s": (q1 - q0) / (t1 - t0),
        "pg_commits_per_s": (x1 - x0) / (t1 - t0),
        "memory_mib": stack.memory_bytes("result") / 2**20,
    }


async def _with_viewers(stack: BenchStack, count: int, window_s: float, votes: int) -> dict:
    url = stack.result_url + "/stream"
    stop = asyncio.Event()
    viewers = [Viewer() for _ in range(count)]
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = []
        for start in range(0, count, 100):  # open them in steps, as viewers arrive
            tasks += [asyncio.create_task(sse_viewer(session, url, v, stop)) for v in viewers[start : start + 100]]
            await asyncio.sleep(0.1)
        for _ in range(300):
            if metric(stack.metrics_url("result"), "result_live_viewers") >= count:
                break
            await asyncio.sleep(0.1)
        connected = int(metric(stack.metrics_url("result"), "result_live_viewers"))
        rates = await asyncio.to_thread(_rates, stack, window_s)
        # Cast votes as new voters and check every viewer is told the final total.
        seed = int(time.time())
        with requests.Session() as s:
            for i in range(votes):
                s.post(
                    stack.vote_url + "/api/vote",
                    json={"vote": "a"},
                    headers={"Cookie": f"voter_id={seed & 0xFFFFFFFF:08x}{i:024x}"},
                    timeout=10,
                ).raise_for_status()
        final = requests.get(stack.result_url + "/api/results", timeout=5).json()["total"]
        for _ in range(150):
            final = requests.get(stack.result_url + "/api/results", timeout=5).json()["total"]
            if sum(v.last_total == final for v in viewers) == count:
                break
            await asyncio.sleep(0.1)
        told = sum(v.last_total == final for v in viewers)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {**rates, "viewers": count, "connected": connected, "told_final_total": told}


def measure(stack: BenchStack, count: int, window_s: float) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 1024)), hard))
    stack.workers(1)
    idle = _rates(stack, window_s)
    loaded = asyncio.run(_with_viewers(stack, count, window_s, votes=5))
    ratio = loaded["queries_per_s"] / idle["queries_per_s"] if idle["queries_per_s"] else None
    return {
        "no_viewers": idle,
        "with_viewers": loaded,
        "figure": loaded["queries_per_s"],
        "baseline": idle["queries_per_s"],
        "ratio": ratio,
        "goal": "queries/s independent of viewer count (ratio 1.0 +/- 0.1)",
        "met": ratio is not None and 0.9 <= ratio <= 1.1 and loaded["told_final_total"] == count,
    }
