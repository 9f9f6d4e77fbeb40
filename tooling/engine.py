"""The one route to Docker for the tests, the benchmarks and tooling (besides compose and
testcontainers): its CLI."""

from __future__ import annotations

import subprocess


def docker_answers() -> bool:
    """Whether a Docker engine answers: the one check behind every suite that starts containers."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def docker(*args: str, timeout: float = 120, stdin: str | None = None) -> str:
    """``docker <args>``'s output; fails (a test) with docker's own error when it fails."""
    done = subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, check=False, timeout=timeout)
    assert done.returncode == 0, f"docker {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return done.stdout
