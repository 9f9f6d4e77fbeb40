"""Measurement 5: many concurrent /stream viewers on one result container (bench/notes.md).

Every client connects to the container's own address: Docker's proxy for the published port holds
two file descriptors per connection, and with dockerd's open-file limit on this machine (20,000) the
10,000 viewers use them all, so any further connection through the port is refused by the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import socket
import time

import aiohttp
import requests

from loadgen.voters import post_vote, voter_id
from tooling.waiting import eventually
from voting_common.contract import OPTIONS

from .stack import BenchStack


def _rates(stack: BenchStack, window_s: float) -> dict:
    def sample() -> tuple[float, int, float]:
        pg = stack.pg()
        try:
            with pg.cursor() as cur:
                cur.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
                commits = int(cur.fetchone()[0])
        finally:
            pg.close()
        return stack.metric("result", "result_db_queries_total"), commits, time.monotonic()

    q0, x0, t0 = sample()
    time.sleep(window_s)
    q1, x1, t1 = sample()
    return {
        "queries_per_s": (q1 - q0) / (t1 - t0),
        "pg_commits_per_s": (x1 - x0) / (t1 - t0),
        "memory_mib": stack.memory_mib("result"),
    }


async def _sse_viewer(session: aiohttp.ClientSession, url: str, totals: list[int | None], index: int) -> None:
    """Follow /stream, keeping the last total it was sent in ``totals[index]``."""
    with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
        async with session.get(url) as resp:
            async for line in resp.content:
                if line.startswith(b"data:"):
                    totals[index] = json.loads(line[5:])["total"]


async def _with_viewers(stack: BenchStack, base: str, count: int, window_s: float, votes: int) -> dict:
    totals: list[int | None] = [None] * count
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = []
        for start in range(0, count, 100):  # open them in steps, as viewers arrive
            tasks += [asyncio.create_task(_sse_viewer(session, f"{base}/stream", totals, i))
                      for i in range(start, min(count, start + 100))]  # fmt: skip
            await asyncio.sleep(0.1)
        # The waits run in a thread, so the viewers go on reading; on a timeout, the counts say how far they got.
        with contextlib.suppress(AssertionError):
            await asyncio.to_thread(
                eventually, lambda: stack.metric("result", "result_live_viewers") >= count, 30, "the viewers", 0.1
            )
        connected = int(stack.metric("result", "result_live_viewers"))
        rates = await asyncio.to_thread(_rates, stack, window_s)
        refusal = await asyncio.to_thread(_one_too_many, base)
        _cast(stack, votes)
        final = None

        def all_told() -> bool:
            nonlocal final
            final = requests.get(f"{base}/api/results", timeout=5).json()["total"]
            return totals.count(final) == count

        with contextlib.suppress(AssertionError):
            await asyncio.to_thread(eventually, all_told, 15, "every viewer told the final total", 0.1)
        told = totals.count(final)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {**rates, "viewers": count, "connected": connected, "told_final_total": told, "one_too_many": refusal}


def _one_too_many(base: str) -> dict:
    """One viewer over the limit: its status, Retry-After, and how long the answer took."""
    started = time.monotonic()
    response = requests.get(f"{base}/stream", timeout=30, stream=True)
    seconds = time.monotonic() - started
    response.close()
    return {"status": response.status_code, "retry_after": response.headers.get("Retry-After"), "seconds": seconds}


def _cast(stack: BenchStack, votes: int) -> None:
    """``votes`` votes of new voters, one at a time: each changes the numbers every viewer is sent."""
    seed = int(time.time() * 1000)
    with requests.Session() as s:
        for i in range(votes):
            post_vote(s, stack.vote_url, OPTIONS[-1], voter_id(seed, i)).raise_for_status()


def _never_reading(stack: BenchStack, address: tuple[str, int], count: int, votes: int) -> dict:
    """``count`` viewers that open /stream and never read, through two rounds of ``votes`` votes."""
    socks = []
    memory = [stack.memory_mib("result")]
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the server's sends back up
            sock.settimeout(10)
            sock.connect(address)
            sock.sendall(b"GET /stream HTTP/1.1\r\nHost: result\r\n\r\n")
            socks.append(sock)
        memory.append(stack.memory_mib("result"))
        for _ in range(2):
            _cast(stack, votes)
            time.sleep(1)  # the refresher's next reads: the events go out to every stream
            memory.append(stack.memory_mib("result"))
    finally:
        for sock in socks:
            sock.close()
    _cast(stack, 1)  # a stream learns its client left on its next write: this event frees their slots
    eventually(lambda: stack.metric("result", "result_live_viewers") == 0, 30,
               "the viewers that never read to free their slots", 0.1)  # fmt: skip
    return {"count": count, "votes_per_round": votes, "memory_mib": memory}


def measure(stack: BenchStack, count: int, window_s: float) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 1024)), hard))
    stack.workers(1)
    stack.recreate("result", {"MAX_VIEWERS": str(count)})
    try:
        stack.wait_results_ok()
        host, port = address = stack.container_address("result")
        idle = _rates(stack, window_s)
        lurkers = _never_reading(
            stack, address, min(1000, max(10, count // 10)), votes=20
        )  # before the many: settled memory
        loaded = asyncio.run(_with_viewers(stack, f"http://{host}:{port}", count, window_s, votes=5))
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
