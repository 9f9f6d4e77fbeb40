"""Running a service as a real process (python -m ...) for tests that send it real signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tooling import ROOT
from tooling.waiting import eventually

LISTENING = re.compile(rb'msg="health server listening" port=(\d+)')


def spawn_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start ``python -m worker_app`` (health server on a port the OS chooses), logging to ``log_path``."""
    full_env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'common'}{os.pathsep}{ROOT / 'worker'}",
        "HEALTH_PORT": "0",
        **env,
    }
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process by the OS
    return subprocess.Popen([sys.executable, "-m", "worker_app"], env=full_env, stdout=log, stderr=subprocess.STDOUT)


def handles_sigterm(pid: int) -> bool:
    """Whether the process has installed a SIGTERM handler (its SigCgt mask in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.M).group(1), 16)
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def start_worker(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, int]:
    """Start ``python -m worker_app``; returns the process and its health port.

    The health server binds a port the OS chooses (``HEALTH_PORT=0``) and logs it. The worker
    installs its signal handlers before that line, so from the moment this returns a SIGTERM
    always ends it cleanly.
    """
    start = log_path.stat().st_size if log_path.exists() else 0
    proc = spawn_worker(env, log_path)

    def port() -> int | None:
        if proc.poll() is not None:
            raise AssertionError(f"worker exited with {proc.returncode}:\n{log_path.read_text()}")
        match = LISTENING.search(log_path.read_bytes()[start:])
        return int(match.group(1)) if match else None

    return proc, eventually(port, 30, "the worker's health server", 0.02)


def ready(port: int) -> bool:
    return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    def check() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}")
        return ready(port)

    eventually(check, timeout, f"readiness on port {port}", ignore=(requests.RequestException,))
