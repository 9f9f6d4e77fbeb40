"""Measurement 1: POST /api/vote under wrk against bare Flask and the naive handler (bench/notes.md).
Rounds alternate so that all three share the drift."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

from tooling.waiting import eventually

from .stack import BenchStack, cpu_us_per

LUA = Path(__file__).with_name("vote.lua")
CONNECTIONS = 32
# The goals: vote against each baseline (throughput ratio) and its own tail latency.
GOAL_BARE, GOAL_NAIVE, GOAL_P99_MS = 0.8, 1.7, 25.0


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
    before = stack.cpu_ns(service, "redis")
    result = wrk(stack.url(service), seconds)
    cpu = cpu_us_per(before, stack.cpu_ns(service, "redis"), result["requests"])
    result["rps"] = (result["requests"] - result["status_errors"]) / (result["duration_us"] / 1e6)
    result.update({f"{'web' if name == service else name}_cpu_us_per_request": us for name, us in cpu.items()})
    return result


def _per_round(baseline: list[dict], other: list[dict]) -> list[float]:
    """``other``'s requests/s over the baseline's, round by round: each pair shared one round's drift."""
    return [o["rps"] / b["rps"] for b, o in zip(baseline, other, strict=True)]


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


# Other ways to serve the vote container, each measured for one round against the default
# (2 gevent processes): what the process, thread and worker-class levers are worth. gthread 2x8 was
# the default until slow clients were found to take all of its threads.
GTHREAD = {"GUNICORN_WORKER_CLASS": "gthread"}
LEVERS = {
    "gthread 2x8": {**GTHREAD, "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "8"},
    "gthread 2x16": {**GTHREAD, "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "16"},
    "gthread 4x4": {**GTHREAD, "WEB_CONCURRENCY": "4", "GUNICORN_THREADS": "4"},
    "gevent 1": {"WEB_CONCURRENCY": "1"},
    "gevent 4": {"WEB_CONCURRENCY": "4"},
}


def levers(stack: BenchStack, seconds: float) -> dict:
    """vote served each other way, one round each, beside a round of the default before it."""
    out = {}
    try:
        for name, env in LEVERS.items():
            stack.recreate("vote", {})
            default = one_round(stack, "vote", seconds)
            stack.recreate("vote", env)
            wrk(stack.url("vote"), 2)
            lever = one_round(stack, "vote", seconds)
            out[name] = {"env": env, "default": default, "lever": lever, "ratio": lever["rps"] / default["rps"]}
    finally:
        stack.recreate("vote", {})
    return out


def replicated(stack: BenchStack, seconds: float, rounds: int) -> dict:
    """vote acknowledging a vote only once a replica has it (``REDIS_WAIT_REPLICAS=1``, as the HA
    values run it) against vote on the single Redis, rounds alternating; the replica runs only
    during its own rounds."""
    single, waited = [], []
    master = stack.redis()
    try:
        for _ in range(rounds):
            stack.compose("--profile", "replica", "rm", "-sf", "redis-replica")
            stack.recreate("vote", {})
            single.append(one_round(stack, "vote", seconds))
            stack.compose("--profile", "replica", "up", "-d", "--no-deps", "redis-replica")
            eventually(lambda: master.info("replication").get("slave0", {}).get("state") == "online",
                       120, "the replica in sync", 0.5)  # fmt: skip
            stack.recreate("vote", {"REDIS_WAIT_REPLICAS": "1"})
            waited.append(one_round(stack, "vote", seconds))
    finally:
        stack.compose("--profile", "replica", "rm", "-sf", "redis-replica")
        stack.recreate("vote", {})
    ratios = _per_round(single, waited)
    return {"single": summarise(single), "waited": summarise(waited), "ratio": statistics.median(ratios),
            "ratio_per_round": ratios}  # fmt: skip


def measure(stack: BenchStack, seconds: float, rounds: int, with_levers: bool = False) -> dict:
    """The worker is paused meanwhile so the figure is the vote service's own (the queue grows)."""
    for service in ("vote", "vote-bare", "vote-naive"):
        wrk(stack.url(service), 2)  # warm-up: connections, code paths
    bare, naive, vote = [], [], []
    stack.compose("pause", "worker")
    try:
        for _ in range(rounds):
            bare.append(one_round(stack, "vote-bare", seconds))
            naive.append(one_round(stack, "vote-naive", seconds))
            vote.append(one_round(stack, "vote", seconds))
        stack.redis_cli("config", "set", "appendfsync", "everysec")
        try:
            everysec = [one_round(stack, "vote", seconds) for _ in range(rounds)]
        finally:
            stack.redis_cli("config", "set", "appendfsync", "always")
        other_ways = levers(stack, seconds) if with_levers else {}
        wait_cost = replicated(stack, seconds, rounds)
    finally:
        stack.compose("unpause", "worker")
    b, n, v, e = summarise(bare), summarise(naive), summarise(vote), summarise(everysec)
    ratios, naive_ratios = _per_round(bare, vote), _per_round(naive, vote)
    ratio, naive_ratio = statistics.median(ratios), statistics.median(naive_ratios)
    p99_ok = v["p99_ms"] is not None and v["p99_ms"] <= GOAL_P99_MS

    def cpu_ratio(baseline: dict) -> float | None:  # like the throughput ratio, but robust to other load
        b, w = baseline["web_cpu_us_per_request"], v["web_cpu_us_per_request"]
        return b / w if b and w else None

    return {
        "connections": CONNECTIONS,
        "seconds_per_round": seconds,
        "vote": v,
        "bare_flask": b,
        "naive": n,
        "vote_appendfsync_everysec": e,
        "levers": other_ways,
        "replicated": wait_cost,
        "figure": v["rps"],
        "baseline": b["rps"],
        "ratio": ratio,
        "ratio_per_round": ratios,
        "naive_ratio": naive_ratio,
        "naive_ratio_per_round": naive_ratios,
        "cpu_ratio": cpu_ratio(b),
        "naive_cpu_ratio": cpu_ratio(n),
        "goal": f"ratio >= {GOAL_BARE}, >= {GOAL_NAIVE}x naive, p99 <= {GOAL_P99_MS:.0f} ms",
        "met": ratio >= GOAL_BARE and naive_ratio >= GOAL_NAIVE and p99_ok,
    }
