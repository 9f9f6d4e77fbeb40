"""The deployment and the workflows pass checkov, a well-kept scanner, with every skipped check
justified in one place (tooling/scan/checkov.yaml). It runs from its own virtualenv (``make
scan-venv``; ``make test`` installs it): its dependencies would clash with the app's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tooling import ROOT, manifests

pytestmark = pytest.mark.scan

CONFIG = ROOT / "tooling" / "scan" / "checkov.yaml"
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-scan" / "bin" / "checkov"))
# Beside the render of the default values: the production and high-availability ones, every option on.
EVERY_OPTION = (
    "vote.ingress.enabled=true",
    "result.httpRoute.enabled=true",
    "result.httpRoute.parentRefs[0].name=public",
)


@pytest.fixture(scope="module")
def targets(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("production")
    rendered = manifests.template(
        *EVERY_OPTION, values_files=(manifests.CHART / "values-production.yaml", manifests.CHART / "values-ha.yaml")
    )
    for name, text in manifests.split(rendered).items():
        (folder / name).parent.mkdir(exist_ok=True)  # the `helm test` hooks live in tests/
        (folder / name).write_text(text)
    return [ROOT / "k8s-specifications", ROOT / ".github", folder]


def checkov(targets: list[Path], *args: str) -> list[dict]:
    """checkov's JSON report, one entry per framework, for ``args`` and the project's settings."""
    assert CHECKOV.exists(), f"{CHECKOV} missing: run `make scan-venv` (or set CHECKOV)"
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}  # with skip-download: nothing leaves the machine
    cmd = [str(CHECKOV), "--config-file", str(CONFIG), "-o", "json", *args]
    cmd += [arg for target in targets for arg in ("-d", str(target))]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    reports, text = [], done.stdout.strip()
    while text:  # one JSON document (an object or a list) per folder
        doc, end = json.JSONDecoder().raw_decode(text)
        reports += doc if isinstance(doc, list) else [doc]
        text = text[end:].lstrip()
    return reports


def failures(reports: list[dict]) -> list[str]:
    return [
        f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']})"
        for r in reports
        for f in r["results"]["failed_checks"]
    ]


def test_the_manifests_and_workflows_pass_every_check_not_skipped(targets):
    reports = checkov(targets)
    assert {r["check_type"] for r in reports} == {"kubernetes", "github_actions"}
    assert all(r["summary"]["passed"] > 0 for r in reports)  # it did look at something
    assert failures(reports) == []


def test_every_skipped_check_would_fail_without_its_skip(targets):
    """A skip whose reason went away goes too: run only the skipped checks, unskipped."""
    skipped = yaml.safe_load(CONFIG.read_text())["skip-check"]
    unskipped = checkov(targets, "--skip-check", "NONE", "--check", ",".join(skipped))
    failed = {line.split()[0] for line in failures(unskipped)}
    assert failed == set(skipped)
