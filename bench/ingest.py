"""Measurement 1: POST /api/vote at 32 concurrent clients (wrk), against a bare Flask endpoint served
by the same image under the identical gunicorn configuration, rounds interleaved to share the drift."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

from .stack import BenchStack

LUA = Path(__file__).with_name("vote.lua")
CONNECTIONS = 32


def wrk(url: str, seconds: float) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "-s", str(LUA), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON "))
    return json.loads(line.removeprefix("WRKJSON "))


def one_round(stack: BenchStack, service: str, seconds: float) -> dict:
    """wrk against one service, with the CPU that service and Redis spent per request."""
    before = {name: stack.cpu_ns(name) for name in (service, "redis")}
    result = wrk(stack.url(service), seconds)
    after = {name: stack.cpu_ns(name) for name in (service, "redis")}
    ok = result["requests"] - result["status_errors"]
    result["rps"] = ok / (result["duration_us"] / 1e6)
    for name, used_before in before.items():
        used_after = after[name]
        if used_before is not None and used_after is not None and result["requests"]:
            key = "web" if name == service else name
            result[f"{key}_cpu_us_per_request"] = (used_after - used_before) / 1000 / result["requests"]
    return result


def summarise(rounds: list[dict]) -> dict:
    def med(key: str, scale: float = 1.0) -> float | None:
        values = [r[key] for r in rounds if key in r]
        return statistics.median(values) / scale if values else None

    return {
        "rps": med("rps"),
        "p50_ms": med("p50_us", 1000),
        "p99_ms": med("p99_us", 1000),
        "errors": sum(r["status_errors"] + r["socket_errors"] for r in rounds),
        "web_cpu_us_per_request": med("web_cpu_us_per_request"),
        "redis_cpu_us_per_request": med("redis_cpu_us_per_request"),
        "rounds": rounds,
    }


def set_fsync(stack: BenchStack, mode: str) -> None:
    stack.redis_cli("config", "set", "appendfsync", mode)


def measure(stack: BenchStack, seconds: float, rounds: int) -> dict:
    """The worker is paused meanwhile so the figure is the vote service's own (the queue grows)."""
    wrk(stack.url("vote"), 2)  # warm-up: connections, code paths
    wrk(stack.url("vote-bare"), 2)
    bare, vote, everysec = [], [], []
    stack.pause("worker")
    try:
        for _ in range(rounds):
            bare.append(one_round(stack, "vote-bare", seconds))
            vote.append(one_round(stack, "vote", seconds))
        set_fsync(stack, "everysec")
        try:
            for _ in range(rounds):
                everysec.append(one_round(stack, "vote", seconds))
        finally:
            set_fsync(stack, "always")
    finally:
        stack.unpause("worker")
    b, v, e = summarise(bare), summarise(vote), summarise(everysec)
    ratios = [vr["rps"] / br["rps"] for br, vr in zip(bare, vote, strict=True)]
    return {
        "connections": CONNECTIONS,
        "seconds_per_round": seconds,
        "vote": v,
        "bare_flask": b,
        "vote_appendfsync_everysec": e,
        "figure": v["rps"],
        "baseline": b["rps"],
        "ratio": statistics.median(ratios),
        "ratio_per_round": ratios,
        "cpu_ratio": (b["web_cpu_us_per_request"] / v["web_cpu_us_per_request"])
        if b["web_cpu_us_per_request"] and v["web_cpu_us_per_request"]
        else None,
        "goal": "ratio >= 0.85",
        "met": statistics.median(ratios) >= 0.85,
    }
