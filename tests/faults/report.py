"""Render docs/reliability.md from the JSON records (one per scenario) of the fault suite and of the
live node-loss tests (tests/kind/test_node_loss.py, whose records say ``"table": "node"``).

    RELIABILITY_REPORT=artifacts/reliability.json .venv/bin/python -m pytest -m faults tests/faults
    RELIABILITY_REPORT=artifacts/reliability.json .venv/bin/python -m pytest -m kind tests/kind/test_node_loss.py
    .venv/bin/python -m tests.faults.report artifacts/reliability.json docs/reliability.md

(``make reliability`` runs all three.) Only the tables between their markers are written; the
rest of the page is edited by hand.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

from voting_common.contract import OPTIONS

COLUMNS = [
    ("scenario", "---"),
    ("fault", "---"),
    ("voters", "--:"),
    ("votes sent", "--:"),
    ("requests (failed)", "---"),
    ("acknowledged", "--:"),
    ("expected", "--:"),
    ("counted", "--:"),
    ("lost", "--:"),
    ("double-counted", "--:"),
    ("converged after", "--:"),
    ("slowest ack", "--:"),
    ("counting stalled shown", "--:"),
    ("recovered: first ack", "--:"),
    ("live", "--:"),
    ("correct", "--:"),
    ("notes", "---"),
]

NODE_COLUMNS = [
    ("scenario", "---"),
    ("fault", "---"),
    ("voters", "--:"),
    ("requests (failed)", "---"),
    ("refused (503)", "--:"),
    ("acknowledged", "--:"),
    ("lost", "--:"),
    ("double-counted", "--:"),
    ("new Redis master", "--:"),
    ("new Postgres leader", "--:"),
    ("votes accepted again", "--:"),
    ("results live again", "--:"),
    ("correct after the last vote", "--:"),
]


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _requests(r: dict) -> str:
    """Requests, then how many failed and of which kinds."""
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["failed_requests"].items()))
    return f"{r['requests']} ({sum(r['failed_requests'].values())}{': ' + kinds if kinds else ''})"


def _line(cells: list) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def row(r: dict) -> str:
    def totals(counts: dict) -> str:
        return f"{sum(counts[o] for o in OPTIONS)} ({', '.join(f'{o} {counts[o]}' for o in OPTIONS)})"

    return _line(
        [
            r["scenario"],
            r["fault"],
            r["voters"],
            r["votes_sent"],
            _requests(r),
            r["acknowledged"],
            totals(r["expected"]),
            totals(r["counted"]),
            r["lost"],
            r["double_counted"],
            "never" if r["convergence_seconds"] is None else f"{r['convergence_seconds']:.2f} s",
            f"{r['slowest_ack_seconds']:.2f} s",
            _seconds(r.get("stalled_shown_seconds")),
            *(_seconds(r.get(f"recovery_{name}_seconds")) for name in ("first_ack", "live", "correct")),
            r["notes"],
        ]
    )


def node_row(r: dict) -> str:
    times = ("redis_master", "db_leader", "votes_accepted", "results_live", "correct")
    return _line(
        [
            r["scenario"],
            r["fault"],
            r["voters"],
            _requests(r),
            r["failed_requests"].get("http_503", 0),
            r["acknowledged"],
            r["lost"],
            r["double_counted"],
            *(_seconds(r[f"{key}_seconds"]) for key in times),
        ]
    )


def table(columns: list[tuple[str, str]], lines: list[str]) -> str:
    head = ["| " + " | ".join(name for name, _ in columns) + " |", "|" + "|".join(a for _, a in columns) + "|"]
    return "\n".join(head + lines) + "\n"


def render(rows: list[dict], doc: str) -> str:
    """``doc`` with the text between each table's markers replaced by that table, when it has rows."""
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"
    measured = f"Measured on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ({machine}).\n\n"
    nodes = [r for r in rows if r.get("table") == "node"]
    faults = [r for r in rows if r.get("table") != "node"]
    for name, columns, lines in (
        ("faults", COLUMNS, [*map(row, faults)]),
        ("node", NODE_COLUMNS, [*map(node_row, nodes)]),
    ):
        begin, end = f"<!-- make reliability: {name} -->\n", f"<!-- end: {name} -->"
        head, found, rest = doc.partition(begin)
        assert found and end in rest, f"the markers of table {name} are missing"
        if lines:
            doc = head + begin + measured + table(columns, lines) + end + rest.partition(end)[2]
    return doc


def record(row: dict) -> None:
    """Append a scenario's row to the JSON report named by RELIABILITY_REPORT (if set)."""
    path = os.environ.get("RELIABILITY_REPORT")
    if not path:
        return
    report = Path(path)
    report.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(report.read_text()) if report.exists() else []
    rows = [r for r in rows if r["scenario"] != row["scenario"]] + [row]
    report.write_text(json.dumps(rows, indent=2) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows = json.loads(Path(argv[1]).read_text())
    if not rows:
        print(f"{argv[1]} holds no scenario", file=sys.stderr)
        return 1
    doc = Path(argv[2])
    doc.write_text(render(rows, doc.read_text()))
    print(
        f"{argv[2]}: {len(rows)} scenarios, lost {sum(r['lost'] for r in rows)}, "
        f"double-counted {sum(r['double_counted'] for r in rows)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
