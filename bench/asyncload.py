"""Async HTTP clients for the measurements a thread per request can't drive from a 2-core machine:
votes at a steady rate (freshness) and many open Server-Sent Events streams (live viewers)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import aiohttp

from loadgen.voters import voter_id
from voting_common.contract import OPTIONS


@dataclass
class Ack:
    stream_id: tuple[int, int]
    acked_at: float  # time.monotonic()


async def votes_at_rate(vote_url: str, rate: float, seconds: float, seed: int, senders: int = 64) -> list[Ack]:
    """New distinct voters, vote ``i`` sent at ``start + i / rate`` (open loop), until ``seconds``."""
    total = int(rate * seconds)
    acks: list[Ack] = []
    counter = iter(range(total))
    url = vote_url.rstrip("/") + "/api/vote"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=senders)) as session:
        start = time.monotonic()

        async def sender() -> None:
            for i in counter:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                option = OPTIONS[(i + 1) % len(OPTIONS)]
                headers = {"Cookie": f"voter_id={voter_id(seed, i)}"}
                for _attempt in range(20):  # bounded retries, as a person pressing again
                    try:
                        async with session.post(url, json={"vote": option}, headers=headers) as resp:
                            if resp.status == 202:
                                body = await resp.json()
                                ms, _, seq = body["id"].partition("-")
                                acks.append(Ack((int(ms), int(seq)), time.monotonic()))
                                break
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(sender() for _ in range(senders)))
    return acks


async def poll_totals(result_url: str, seen: list[tuple[float, int]], until: asyncio.Event, interval_s: float = 0.02):
    """Append (time, total) from /api/results to ``seen`` every ``interval_s`` until ``until`` is set."""
    url = result_url.rstrip("/") + "/api/results"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while not until.is_set():
            try:
                async with session.get(url) as resp:
                    body = await resp.json()
                seen.append((time.monotonic(), int(body["total"])))
            except (aiohttp.ClientError, TimeoutError, ValueError, TypeError, KeyError):
                pass
            await asyncio.sleep(interval_s)


@dataclass
class Viewer:
    connected: bool = False
    events: int = 0
    last_total: int | None = None
    updates: list[tuple[float, int]] = field(default_factory=list)


async def sse_viewer(session: aiohttp.ClientSession, url: str, viewer: Viewer, stop: asyncio.Event) -> None:
    try:
        async with session.get(url) as resp:
            viewer.connected = resp.status == 200
            while not stop.is_set():
                line = await resp.content.readline()
                if not line:
                    return
                if line.startswith(b"data:"):
                    viewer.events += 1
                    viewer.last_total = json.loads(line[5:])["total"]
                    viewer.updates.append((time.monotonic(), viewer.last_total))
    except (aiohttp.ClientError, TimeoutError, ValueError):
        viewer.connected = False
