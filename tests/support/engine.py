"""Whether a Docker engine answers: the one check behind every suite that starts containers."""

from __future__ import annotations

import subprocess


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
