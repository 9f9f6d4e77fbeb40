"""Bump one version where it lives, then write what is rendered from it (``make bump WHAT=... TO=...``).

- ``app``: the chart's ``version`` and ``appVersion`` (the tag of vote, worker and result);
- ``redis``, ``postgres``: the image tag in the chart's values;
- a Go tool (``helm``, ``actionlint``, ``metrics-server``, ``metallb``): its line in
  ``tooling/go-tools.env``;
- ``python``: the base image every Dockerfile names (``TO=python:3.12-slim``);
- ``kubernetes``: the air-gapped kind node's release (``kind/airgapped/bump-kubernetes``).

Afterwards ``make manifests`` runs, so ``k8s-specifications/`` and compose's ``.env`` follow. Each
edit rewrites one line and keeps the file's comments.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from tooling import ROOT, manifests

GO_TOOLS = ROOT / "tooling" / "go-tools.env"
CHART_YAML = manifests.CHART / "Chart.yaml"
VALUES = manifests.CHART / "values.yaml"
VALUES_BLOCK = {"redis": "redis", "postgres": "db"}


def replace_line(path: Path, pattern: str, new: str, start: int = 0) -> None:
    """Replace the first line at or after ``start`` (a character offset) that matches ``pattern``."""
    text = path.read_text()
    match = re.compile(pattern, re.M).search(text, start)
    if match is None:
        raise ValueError(f"{path.relative_to(ROOT)}: no line matching {pattern!r}")
    path.write_text(text[: match.start()] + new + text[match.end() :])


def bump(what: str, version: str) -> None:
    if what == "kubernetes":
        subprocess.run([str(ROOT / "kind" / "airgapped" / "bump-kubernetes"), version], check=True)
    elif what == "python":
        for dockerfile in sorted(ROOT.glob("*/Dockerfile")):
            replace_line(dockerfile, r"^ARG PYTHON_IMAGE=.*$", f"ARG PYTHON_IMAGE={version}")
    elif what == "app":
        replace_line(CHART_YAML, r"^version: .*$", f"version: {version}")
        replace_line(CHART_YAML, r"^appVersion: .*$", f'appVersion: "{version}"')
    elif what in VALUES_BLOCK:
        block = re.search(rf"^{VALUES_BLOCK[what]}:\n", VALUES.read_text(), re.M)
        if block is None:
            raise ValueError(f"values.yaml has no block {VALUES_BLOCK[what]}")
        replace_line(VALUES, r"^    tag: .*$", f'    tag: "{version}"', block.end())
    else:
        key = what.upper().replace("-", "_") + "_VERSION"
        if not re.search(rf"^{key}=", GO_TOOLS.read_text(), re.M):
            raise ValueError(f"unknown: {what} (app, redis, postgres, python, kubernetes, or a Go tool)")
        replace_line(GO_TOOLS, rf"^{key}=.*$", f"{key}={version}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", help="app, redis, postgres, python, kubernetes, or a Go tool in tooling/go-tools.env")
    parser.add_argument("version")
    args = parser.parse_args(argv)
    try:
        bump(args.what, args.version)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return manifests.main([])


if __name__ == "__main__":
    sys.exit(main())
