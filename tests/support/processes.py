"""Running a service as a real process (python -m ...) for tests that send it real signals."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, int]:
    """Start ``python -m worker_app``; returns the process and its health port."""
    port = free_port()
    full_env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'common'}{os.pathsep}{ROOT / 'worker'}",
        "HEALTH_PORT": str(port),
        **env,
    }
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process by the OS
    proc = subprocess.Popen([sys.executable, "-m", "worker_app"], env=full_env, stdout=log, stderr=subprocess.STDOUT)
    return proc, port


def wait_ready(port: int, timeout: float = 30, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not ready on port {port} after {timeout}s")
