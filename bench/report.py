"""docs/benchmarks.md from the results: a summary table, then each measurement in detail."""

from __future__ import annotations

from pathlib import Path

NOTES = Path(__file__).with_name("notes.md")

TITLES = {
    "ingest": "1. Vote ingest: POST /api/vote at 32 clients vs bare Flask and naive handler (same image and gunicorn)",
    "drain": "2. Worker drain: pre-filled backlog to Postgres vs plain COPY of the same rows",
    "freshness": "3. Freshness: acknowledged vote to visible in /api/results",
    "read_cost": "4. Result read cost: refresh latency, many vs few votes stored",
    "viewers": "5. Live viewers: /stream clients on one result container",
}
UNITS = {"ingest": "req/s", "drain": "votes/s", "freshness": "ms p95", "read_cost": "ms", "viewers": "queries/s"}
BASELINES = {
    "ingest": "bare Flask req/s",
    "drain": "COPY rows/s",
    "freshness": "p95 at 10 votes/s",
    "read_cost": "read ms, few votes",
    "viewers": "queries/s, no viewer",
}


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _table(titles: tuple[str, ...], rows) -> list[str]:
    """A Markdown table: the header, its rule, then one row per tuple of cells."""
    return [_row(*titles), "|" + "---|" * len(titles), *(_row(*cells) for cells in rows)]


def _each(values: list[float]) -> str:
    return ", ".join(_n(x, 2) for x in values)


def _n(value, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and abs(value) < 10:
        return f"{value:.{max(digits, 2)}f}"
    return f"{value:,.{digits if isinstance(value, float) and value < 100 else 0}f}"


VERDICTS = {True: ("met", "yes"), False: ("MISSED", "**no**"), None: ("not judged at this size", "not judged")}


def one_line(name: str, r: dict) -> str:
    met = VERDICTS[r["met"]][0]
    return (
        f"{_n(r['figure'])} {UNITS[name]} vs {BASELINES[name]} {_n(r['baseline'])}: "
        f"ratio {_n(r['ratio'], 2)}; goal {r['goal']}: {met}"
    )


def _details(name: str, r: dict) -> list[str]:
    if name == "ingest":
        served = {"vote `POST /api/vote`": r["vote"], "bare Flask (baseline)": r["bare_flask"],
                  "naive: one XADD per request (baseline)": r["naive"],
                  "vote, Redis `appendfsync everysec`": r["vote_appendfsync_everysec"]}  # fmt: skip
        lines = _table(
            ("endpoint", "req/s", "p50 ms", "p99 ms", "errors", "web CPU µs/req", "Redis CPU µs/req"),
            ((label, _n(s["rps"]), _n(s["p50_ms"]), _n(s["p99_ms"]), s["errors"], _n(s["web_cpu_us_per_request"]),
              _n(s["redis_cpu_us_per_request"])) for label, s in served.items()),
        )  # fmt: skip
        lines += ["", f"Throughput ratio vote / bare per round: {_each(r['ratio_per_round'])}; "
                  f"vote / naive per round: {_each(r['naive_ratio_per_round'])} (median {_n(r['naive_ratio'], 2)}). "
                  f"CPU-per-request ratios (baseline / vote, robust to other load): bare {_n(r['cpu_ratio'], 2)}, "
                  f"naive {_n(r['naive_cpu_ratio'], 2)}. "
                  "The worker is paused during these rounds: only vote and Redis serve them."]  # fmt: skip
        if w := r.get("replicated"):
            against = {"the single Redis": w["single"], "master and replica, `WAIT 1`": w["waited"]}
            lines += ["", "With a replica, as the high-availability values run it (`REDIS_WAIT_REPLICAS=1`: a vote is "
                      "acknowledged once the replica has it), beside the single Redis, rounds alternating:", "",
                      *_table(("vote against", "req/s", "p50 ms", "p99 ms", "Redis CPU µs/req"),
                              ((label, _n(x["rps"]), _n(x["p50_ms"]), _n(x["p99_ms"]),
                                _n(x["redis_cpu_us_per_request"])) for label, x in against.items())),
                      "", f"Cost of the replica on ingest: throughput ratio {_n(w['ratio'], 2)} (median; per round "
                      f"{_each(w['ratio_per_round'])})."]  # fmt: skip
        if r.get("levers"):
            lines += ["", "Other ways to serve vote (one round each, right after a round of the default, "
                      "2 gevent processes):", "",
                      *_table(("vote served by", "req/s", "default's req/s", "ratio", "p99 ms", "web CPU µs/req"),
                              ((label, _n(x["lever"]["rps"]), _n(x["default"]["rps"]), _n(x["ratio"], 2),
                                _n(x["lever"]["p99_us"] / 1000), _n(x["lever"].get("web_cpu_us_per_request")))
                               for label, x in r["levers"].items()))]  # fmt: skip
        return lines
    if name == "drain":
        c = r["copy"]
        drained = "After each drain the tally and the row count matched the plan exactly (checked by the harness)."
        return [*_table(("run", "votes", "seconds", "votes/s", "CPU µs/vote: worker, Redis, Postgres"), [
            *((label, f"{s['votes']:,} ({s['voters']:,} voters)", _n(s["seconds"]), _n(s["votes_per_s"]),
               ", ".join(_n(s.get(f"{n}_cpu_us_per_vote")) for n in ("worker", "redis", "db")))
              for label, s in (("1 worker", r["one_worker"]), ("2 workers", r["two_workers"]))),
            ("plain COPY (baseline)", f"{c['rows']:,} rows", _n(c["seconds"]), _n(c["rows_per_s"]), ""),
        ]), "", drained]  # fmt: skip
    if name == "freshness":
        return _table(
            ("load", "votes", "achieved votes/s", "p50 ms", "p95 ms", "p99 ms", "max ms"),
            ((f"{label}: {_n(s['rate_target'])}/s", f"{s['votes']:,}", _n(s["rate_achieved"]), _n(s["p50_ms"]),
              _n(s["p95_ms"]), _n(s["p99_ms"]), _n(s["max_ms"]))
             for label, s in (("steady target rate", r["loaded"]), ("idle (baseline)", r["idle"]))),
        )  # fmt: skip
    if name == "read_cost":
        return [*_table(
            ("votes stored", "service refresh mean ms (n)", "read_tally median ms", "classic count(*) ms"),
            ((f"{s['votes_stored']:,}", f"{_n(s['service_refresh_mean_ms'], 2)} ({int(s['service_refreshes'])})",
              _n(s["read_tally_median_ms"], 2), _n(s["count_star_median_ms"], 2)) for s in (r["few"], r["many"])),
        ), "", f"Ratios many/few: direct (the figure) {_n(r['ratio'], 2)}, service mean {_n(r['service_ratio'], 2)}, "
            f"and for the classic `count(*)` it replaces {_n(r['count_star_ratio'], 2)}."]  # fmt: skip
    lines = _table(
        ("viewers", "connected", "told final total", "queries/s (metric)", "Postgres commits/s", "memory MiB"),
        ((f"{count:,}", f"{s.get('connected', 0):,}", s.get("told_final_total", "-"), _n(s["queries_per_s"], 2),
          _n(s["pg_commits_per_s"], 2), _n(s["memory_mib"]))
         for s, count in ((r["no_viewers"], 0), (r["with_viewers"], r["with_viewers"]["viewers"]))),
    )  # fmt: skip
    if "memory_kib_per_viewer" in r:
        refusal, lurk = r["with_viewers"]["one_too_many"], r["never_reading"]
        lines += ["", f"Memory per viewer: {_n(r['memory_kib_per_viewer'])} KiB. One viewer over the limit "
                  f"(`MAX_VIEWERS` = the viewers): {refusal['status']}, `Retry-After: {refusal['retry_after']}`, "
                  f"in {_n(refusal['seconds'] * 1000)} ms. {lurk['count']:,} viewers that never read, through "
                  f"two rounds of {lurk['votes_per_round']} votes: the service's memory before they connect, "
                  f"once connected, after each round: "
                  f"{' → '.join(_n(m) for m in lurk['memory_mib'])} MiB."]  # fmt: skip
    return lines


def render(doc: dict) -> str:
    m = doc["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{doc['command']}` ({doc['mode']} mode) on {doc['started']}, in {doc['seconds']:.0f} s, "
        f"on a {m['cpus']}-core machine shared with other work (load average {m['loadavg_before'][0]} before, "
        f"{m['loadavg_after'][0]} after). Every figure is beside a baseline measured in the same run: absolute "
        "numbers drift between runs, ratios much less. Raw numbers: `benchmarks.json` beside this file. "
        "The harness is `bench/` (see `python -m bench --help`); it runs the compose stack as project "
        "`votingapp-bench` plus `bench/compose.bench.yml`.",
        "",
        *_table(("#", "measurement", "figure", "baseline", "ratio", "goal", "met"), (
            (TITLES[name].split(".")[0], TITLES[name].split(": ")[0].split(". ", 1)[1],
             f"{_n(r['figure'])} {UNITS[name]}", f"{_n(r['baseline'])} ({BASELINES[name]})", _n(r["ratio"], 2),
             r["goal"], VERDICTS[r["met"]][1]) for name, r in doc["results"].items())),
    ]  # fmt: skip
    if doc["mode"] == "quick":
        lines += ["", "Quick mode: sizes far below the full run's; a goal stated for a size not reached is not judged."]
    for name, r in doc["results"].items():
        run = f", in a run of its own: `{r['run']['command']}` on {r['run']['started']}" if "run" in r else ""
        lines += ["", f"## {TITLES[name]}", "", *_details(name, r), "", f"(took {r['took_s']} s{run})"]
    if NOTES.exists():
        lines += ["", NOTES.read_text().strip()]
    return "\n".join(lines) + "\n"
