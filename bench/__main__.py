"""``python -m bench [--quick]``: start the benchmark stack, take the five measurements, write the report."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from . import drain, freshness, ingest, readcost, report, viewers
from .stack import BenchStack

# Sizes: the full ones for a full run; small ones for CI (quick mode), so the harness never rots.
FULL = {
    "ingest_seconds": 10, "ingest_rounds": 3,
    "drain_voters": 170_000,  # 20% change their vote: ~204,000 votes
    "fresh_rate": 1000, "fresh_seconds": 20, "idle_rate": 10, "idle_seconds": 10,
    "read_small": 1_000, "read_large": 1_000_000, "read_window_s": 10, "read_repeat": 2000,
    "viewers": 10_000, "viewers_window_s": 10,
}  # fmt: skip
QUICK = {
    "ingest_seconds": 3, "ingest_rounds": 1,
    "drain_voters": 10_000,
    "fresh_rate": 200, "fresh_seconds": 4, "idle_rate": 10, "idle_seconds": 3,
    "read_small": 1_000, "read_large": 50_000, "read_window_s": 3, "read_repeat": 200,
    "viewers": 100, "viewers_window_s": 3,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes (CI): checks the harness, not the goals")
    p.add_argument("--out", default=None, help="folder for benchmarks.md/.json (default docs/, quick: artifacts/)")
    p.add_argument("--keep", action="store_true", help="leave the stack running afterwards")
    p.add_argument("--command", default="make bench", help="the command recorded in the report")
    p.add_argument("--render-only", action="store_true", help="rewrite benchmarks.md from benchmarks.json")
    p.add_argument("--only", default="", help="comma-separated measurements to take (default: all five)")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    out = Path(args.out or ("artifacts/bench-quick" if args.quick else "docs"))
    if args.render_only:
        (out / "benchmarks.md").write_text(report.render(json.loads((out / "benchmarks.json").read_text())))
        return 0

    stack = BenchStack()
    steps = {
        "ingest": lambda: ingest.measure(stack, sizes["ingest_seconds"], sizes["ingest_rounds"], not args.quick),
        "drain": lambda: drain.measure(stack, sizes["drain_voters"]),
        "freshness": lambda: freshness.measure(
            stack, sizes["fresh_rate"], sizes["fresh_seconds"], sizes["idle_rate"], sizes["idle_seconds"]),
        "read_cost": lambda: readcost.measure(
            stack, sizes["read_small"], sizes["read_large"], sizes["read_window_s"], sizes["read_repeat"]),
        "viewers": lambda: viewers.measure(stack, sizes["viewers"], sizes["viewers_window_s"]),
    }  # fmt: skip
    only = [name for name in args.only.split(",") if name] or list(steps)
    if unknown := set(only) - set(steps):
        p.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    started = time.time()
    load_before = os.getloadavg()
    stack.down()
    results: dict = {}
    try:
        print("bench: starting the stack (project votingapp-bench)", flush=True)
        stack.up()
        stack.wait_results_ok()
        for name in (name for name in steps if name in only):
            t = time.monotonic()
            print(f"bench: {name} ...", flush=True)
            results[name] = steps[name]()
            results[name]["took_s"] = round(time.monotonic() - t, 1)
            print(f"bench: {name}: {report.one_line(name, results[name])}", flush=True)
    except Exception:
        print(stack.logs()[-5000:], file=sys.stderr)
        raise
    finally:
        if not args.keep:
            stack.down()
    doc = {
        "command": args.command,
        "mode": "quick" if args.quick else "full",
        "sizes": sizes,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "results": results,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out / "benchmarks.md").write_text(report.render(doc))
    print(f"bench: wrote {out}/benchmarks.md and benchmarks.json in {doc['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
