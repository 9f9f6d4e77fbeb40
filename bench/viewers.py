"""Measurement 5: many concurrent /stream viewers on one result container.

Database queries per second come from the service's own ``result_db_queries_total`` (and, as a
cross-check, Postgres' committed transactions, which the idle worker does not add to), first with
no viewer, then with all viewers connected; memory from ``docker stats`` (per viewer: the
difference over the viewers connected). While the viewers are connected a few votes are cast, and
each viewer must receive the final total. The result container runs with ``MAX_VIEWERS`` equal to
the viewers, so one more must be refused at once (503, Retry-After). Before them, viewers that never
read are held open while votes change the numbers: the service's memory must not grow with the events.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import time

import aiohttp
import requests

from loadgen.voters import post_vote, voter_id
from voting_common.contract import OPTIONS

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
    url = stack.container_url("result") + "/stream"  # past the published port's proxy (see _one_too_many)
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
        refusal = await asyncio.to_thread(_one_too_many, stack)
        # Cast votes as new voters and check every viewer is told the final total.
        _cast(stack, votes)
        api = stack.container_url("result") + "/api/results"  # the published port's proxy is full (below)
        final = requests.get(api, timeout=5).json()["total"]
        for _ in range(150):
            final = requests.get(api, timeout=5).json()["total"]
            if sum(v.last_total == final for v in viewers) == count:
                break
            await asyncio.sleep(0.1)
        told = sum(v.last_total == final for v in viewers)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {**rates, "viewers": count, "connected": connected, "told_final_total": told, "one_too_many": refusal}


def _one_too_many(stack: BenchStack) -> dict:
    """One viewer over the limit: its status, Retry-After, and how long the answer took.

    Sent to the container's own address: Docker's proxy for the published port holds two file
    descriptors per connection, and with dockerd's open-file limit on this machine (20,000) the
    10,000 viewers use them all, so any further connection through the port is refused by the proxy."""
    started = time.monotonic()
    response = requests.get(stack.container_url("result") + "/stream", timeout=30, stream=True)
    seconds = time.monotonic() - started
    response.close()
    return {"status": response.status_code, "retry_after": response.headers.get("Retry-After"), "seconds": seconds}


def _cast(stack: BenchStack, votes: int) -> None:
    """``votes`` votes of new voters, one at a time: each changes the numbers every viewer is sent."""
    seed = int(time.time() * 1000)
    with requests.Session() as s:
        for i in range(votes):
            post_vote(s, stack.vote_url, OPTIONS[-1], voter_id(seed, i)).raise_for_status()


def _never_reading(stack: BenchStack, count: int, votes: int) -> dict:
    """``count`` viewers that open /stream and never read, through two rounds of ``votes`` votes."""
    host, port_text = stack.container_url("result").removeprefix("http://").rsplit(":", 1)  # past the proxy
    port = int(port_text)
    socks = []
    memory = [stack.memory_bytes("result") / 2**20]
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the server's sends back up
            sock.settimeout(10)
            sock.connect((host, port))
            sock.sendall(b"GET /stream HTTP/1.1\r\nHost: result\r\n\r\n")
            socks.append(sock)
        memory.append(stack.memory_bytes("result") / 2**20)
        for _ in range(2):
            _cast(stack, votes)
            time.sleep(1)  # the refresher's next reads: the events go out to every stream
            memory.append(stack.memory_bytes("result") / 2**20)
    finally:
        for sock in socks:
            sock.close()
    _cast(stack, 1)  # a stream learns its client left on its next write: this event frees their slots
    for _ in range(300):
        if metric(stack.metrics_url("result"), "result_live_viewers") == 0:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the viewers that never read still hold their slots after 30 s")
    return {"count": count, "votes_per_round": votes, "memory_mib": memory}


def measure(stack: BenchStack, count: int, window_s: float) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 1024)), hard))
    stack.workers(1)
    stack.recreate("result", {"MAX_VIEWERS": str(count)})
    try:
        stack.wait_results_ok()
        idle = _rates(stack, window_s)
        lurkers = _never_reading(stack, min(1000, max(10, count // 10)), votes=20)  # before the many: settled memory
        loaded = asyncio.run(_with_viewers(stack, count, window_s, votes=5))
    finally:
        stack.recreate("result", {})
    ratio = loaded["queries_per_s"] / idle["queries_per_s"] if idle["queries_per_s"] else None
    per_viewer = (loaded["memory_mib"] - idle["memory_mib"]) * 1024 / max(1, loaded["connected"])
    refusal = loaded["one_too_many"]
    return {
        "no_viewers": idle,
        "with_viewers": loaded,
        "memory_kib_per_viewer": per_viewer,
        "never_reading": lurkers,
        "figure": loaded["queries_per_s"],
        "baseline": idle["queries_per_s"],
        "ratio": ratio,
        "goal": "queries/s independent of viewer count (ratio 1.0 +/- 0.1), one more refused (503)",
        "met": ratio is not None
        and 0.9 <= ratio <= 1.1
        and loaded["told_final_total"] == count
        and refusal["status"] == 503
        and refusal["retry_after"] is not None,
    }
