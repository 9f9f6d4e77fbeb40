"""The compose stack under test: its own project name and free host ports, torn down after."""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass, field

from .processes import ROOT, free_port


def project_name(suite: str) -> str:
    """A compose project per test run (two runs on one machine must not share a stack);
    ``COMPOSE_PROJECT_<SUITE>`` fixes the name, e.g. to keep inspecting a stack."""
    return os.environ.get(f"COMPOSE_PROJECT_{suite.upper()}", f"votingapp-{suite}-{os.getpid()}")


@dataclass
class ComposeStack:
    project: str
    vote_port: int = field(default_factory=free_port)
    result_port: int = field(default_factory=free_port)

    @property
    def vote_url(self) -> str:
        return f"http://127.0.0.1:{self.vote_port}"

    @property
    def result_url(self) -> str:
        return f"http://127.0.0.1:{self.result_port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "VOTE_PORT": str(self.vote_port), "RESULT_PORT": str(self.result_port)}

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["docker", "compose", "-p", self.project, *args]
        result = subprocess.run(cmd, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def up(self, *services: str) -> None:
        self.compose("up", "-d", "--build", "--wait", "--wait-timeout", "180", *services)

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "-t", "10", check=False)

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "200", check=False).stdout

    @contextlib.contextmanager
    def running(self):
        """Up (leftovers of an earlier run removed first), yielded, then removed with its volumes."""
        self.down()
        try:
            self.up()
        except Exception:
            print(self.logs())
            self.down()
            raise
        try:
            yield self
        finally:
            self.down()
