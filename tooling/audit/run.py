"""Audit the pinned dependencies (constraints.txt) for published vulnerabilities: ``make audit``.

Fails on any finding not listed, with a reason, in ``ignore.txt``. It also fails, saying so, when
no vulnerability data can be reached: an audit that could not look is not a pass. pip-audit's PyPI
service reads per-version pages (``/pypi/<name>/<version>/json``); OSV is the alternative.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SERVICES = {
    "pypi": ("GET", "https://pypi.org/pypi/pip/24.0/json", None),
    "osv": (
        "POST",
        "https://api.osv.dev/v1/query",
        b'{"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "24.0"}',
    ),
}


def ignored(path: Path) -> list[str]:
    ids = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        vuln, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{path.name}:{number}: {vuln} has no reason; write why it does not apply")
        ids.append(vuln)
    return ids


def reachable(service: str) -> str | None:
    """None when the service answers a known package version, else what went wrong."""
    method, url, body = SERVICES[service]
    # fixed https URLs above, never user input
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return None if response.status == 200 else f"{url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url} unreachable: {exc}"


def main(argv: list[str]) -> int:
    pip_audit = argv[1] if len(argv) > 1 else "pip-audit"
    ignore = ignored(HERE / "ignore.txt")
    failures = {}
    for service in SERVICES:
        problem = reachable(service)
        if problem is None:
            break
        failures[service] = problem
    else:
        print("make audit: NOT AUDITED - no vulnerability data is reachable from here:", file=sys.stderr)
        for service, problem in failures.items():
            print(f"  {service}: {problem}", file=sys.stderr)
        return 2
    command = [pip_audit, "--strict", "--no-deps", "--disable-pip", "-s", service, "-r", str(ROOT / "constraints.txt")]
    for vuln in ignore:
        command += ["--ignore-vuln", vuln]
    print(f"make audit: {len(ignore)} accepted finding(s); vulnerability data from {service}", file=sys.stderr)
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
