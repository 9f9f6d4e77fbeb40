"""Measurement 3: time from an acknowledged vote to the vote visible in /api/results (bench/notes.md).

With one worker, batches commit in stream order and every voter is new, so the vote of rank ``r``
by stream id became visible at the first poll showing ``base + r``: up to one 20 ms poll late; one
visible before its acknowledgement reached us counts as 0. The client is asyncio (aiohttp): a
thread per request can't hold the rate on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp

from loadgen.voters import voter_id
from tooling.waiting import eventually
from voting_common.contract import OPTIONS

from .stack import BenchStack

Ack = tuple[tuple[int, int], float]  # (stream id, time.monotonic() of the acknowledgement)


async def votes_at_rate(vote_url: str, rate: float, seconds: float, seed: int, senders: int = 64) -> list[Ack]:
    """New distinct voters, vote ``i`` sent at ``start + i / rate`` (open loop), until ``seconds``."""
    acks: list[Ack] = []
    counter = iter(range(int(rate * seconds)))
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=senders)) as session:
        start = time.monotonic()

        async def sender() -> None:
            for i in counter:
                if (delay := start + i / rate - time.monotonic()) > 0:
                    await asyncio.sleep(delay)
                vote, headers = {"vote": OPTIONS[(i + 1) % len(OPTIONS)]}, {"Cookie": f"voter_id={voter_id(seed, i)}"}
                for _attempt in range(20):  # bounded retries, as a person pressing again
                    try:
                        async with session.post(f"{vote_url}/api/vote", json=vote, headers=headers) as resp:
                            if resp.status == 202:
                                ms, _, seq = (await resp.json())["id"].partition("-")
                                acks.append(((int(ms), int(seq)), time.monotonic()))
                                break
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(sender() for _ in range(senders)))
    return acks


async def poll_totals(result_url: str, seen: list[tuple[float, int]], until: asyncio.Event) -> None:
    """Append (time, total) from /api/results to ``seen`` every 20 ms until ``until`` is set."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while not until.is_set():
            try:
                async with session.get(f"{result_url}/api/results") as resp:
                    seen.append((time.monotonic(), int((await resp.json())["total"])))
            except (aiohttp.ClientError, TimeoutError, ValueError, TypeError, KeyError):
                pass
            await asyncio.sleep(0.02)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def visibility(acks: list[Ack], polls: list[tuple[float, int]], base: int) -> list[float]:
    """Seconds from acknowledgement to visible, per vote that became visible."""
    latencies = []
    p = 0
    for rank, (_, acked_at) in enumerate(sorted(acks), start=1):
        while p < len(polls) and polls[p][1] - base < rank:
            p += 1
        if p == len(polls):
            break
        latencies.append(max(0.0, polls[p][0] - acked_at))
    return latencies


async def _run(stack: BenchStack, rate: float, seconds: float, seed: int) -> dict:
    polls: list[tuple[float, int]] = []
    stop = asyncio.Event()
    poller = asyncio.create_task(poll_totals(stack.result_url, polls, stop))
    try:  # the waits run in a thread: the poller goes on meanwhile
        await asyncio.to_thread(eventually, lambda: polls, 10, "/api/results to answer", 0.05)
        base = polls[-1][1]
        started = time.monotonic()
        acks = await votes_at_rate(stack.vote_url, rate, seconds, seed)
        sent_for = time.monotonic() - started
        with contextlib.suppress(AssertionError):  # those never visible are counted below
            await asyncio.to_thread(eventually, lambda: polls[-1][1] >= base + len(acks), 30, "every vote", 0.1)
    finally:
        stop.set()
        await poller
    latencies = visibility(acks, polls, base)
    return {
        "rate_target": rate,
        "rate_achieved": len(acks) / sent_for,
        "votes": len(acks),
        "visible": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000,
    }


def measure(stack: BenchStack, rate: float, seconds: float, idle_rate: float, idle_seconds: float) -> dict:
    stack.workers(1)
    idle = asyncio.run(_run(stack, idle_rate, idle_seconds, seed=301))
    loaded = asyncio.run(_run(stack, rate, seconds, seed=302))
    for run in (idle, loaded):
        if run["visible"] != run["votes"]:
            raise AssertionError(f"only {run['visible']} of {run['votes']} acknowledged votes became visible")
    return {
        "loaded": loaded,
        "idle": idle,
        "figure": loaded["p95_ms"],
        "baseline": idle["p95_ms"],
        "ratio": loaded["p95_ms"] / idle["p95_ms"] if idle["p95_ms"] else None,
        "goal": "p95 <= 1000 ms at 1000 votes/s",
        # None: the goal speaks of 1000 votes/s, so a smaller run cannot judge it.
        "met": None if rate < 1000 else loaded["p95_ms"] <= 1000 and loaded["rate_achieved"] >= 0.95 * rate,
    }
