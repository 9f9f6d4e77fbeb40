"""A compose stack of this repository under its own project name, for the tests and benchmarks.

Docker chooses the published host ports (``127.0.0.1::8080``) and the stack reads them back, so
two stacks never compete for a port. A port chosen that way changes when a container restarts,
so ``vote_url`` and ``result_url`` go through a forwarder that follows the service wherever it is.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass, field

from . import ROOT
from .engine import docker
from .forward import Address, Forwarder

DOCKER_CHOOSES = "127.0.0.1:"  # VOTE_PORT / RESULT_PORT: "127.0.0.1::8080" in docker-compose.yml
# redis-cli inside the redis container, authenticated with that container's own REDIS_PASSWORD
# (through REDISCLI_AUTH: the password is never on a command line); arguments follow.
REDIS_CLI = ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD"; export REDISCLI_AUTH; exec redis-cli "$@"', "redis-cli"]


def project_name(suite: str) -> str:
    """A compose project per test run (two runs on one machine must not share a stack);
    ``COMPOSE_PROJECT_<SUITE>`` fixes the name, e.g. to keep inspecting a stack."""
    return os.environ.get(f"COMPOSE_PROJECT_{suite.upper()}", f"votingapp-{suite}-{os.getpid()}")


@dataclass
class ComposeStack:
    project: str
    extra_env: dict[str, str] = field(default_factory=dict)
    _forwarders: dict[str, Forwarder] = field(default_factory=dict, init=False, repr=False)

    @property
    def vote_url(self) -> str:
        return self._forwarder("vote").url

    @property
    def result_url(self) -> str:
        return self._forwarder("result").url

    def _forwarder(self, service: str) -> Forwarder:
        if service not in self._forwarders:
            self._forwarders[service] = Forwarder(lambda: self.address(service))
        return self._forwarders[service]

    def env(self) -> dict[str, str]:
        return {**os.environ, "VOTE_PORT": DOCKER_CHOOSES, "RESULT_PORT": DOCKER_CHOOSES, **self.extra_env}

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["docker", "compose", "-p", self.project, *args]
        result = subprocess.run(cmd, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def port(self, service: str, container_port: int = 8080, index: int = 1) -> int:
        """The host port Docker published for the service's ``container_port`` (now: it changes on restart)."""
        out = self.compose("port", "--index", str(index), service, str(container_port), timeout=30).stdout.strip()
        return int(out.rsplit(":", 1)[1])

    def address(self, service: str, container_port: int = 8080) -> Address | None:
        """Where the service listens on the host now, or None while it is not running."""
        try:
            return "127.0.0.1", self.port(service, container_port)
        except (AssertionError, ValueError, IndexError, subprocess.TimeoutExpired):
            return None

    def container_address(self, service: str, container_port: int = 8080) -> Address:
        """The service's (first) container on its own network address: past Docker's proxy for the
        published port, which keeps buffers and file descriptors of its own for every connection."""
        cid = self.compose("ps", "-q", service, timeout=30).stdout.split()[0]
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
        return docker("inspect", "-f", fmt, cid).split()[0], container_port

    def up(self, *services: str) -> None:
        self.compose("up", "-d", "--build", "--wait", "--wait-timeout", "180", *services)

    def ensure_up(self) -> None:
        """Every service running and healthy, one worker (a test may have left it otherwise)."""
        self.compose("up", "-d", "--no-build", "--wait", "--wait-timeout", "180", "--scale", "worker=1", timeout=240)

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "-t", "10", check=False)

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "200", check=False).stdout

    def psql(self, sql: str) -> str:
        out = self.compose("exec", "-T", "db", "psql", "-U", "postgres", "-d", "votes", "-tAc", sql, timeout=30)
        return out.stdout.strip()

    def redis_cli(self, *args: str) -> str:
        """A redis-cli command in the redis container (authenticated); its output, stripped."""
        return self.compose("exec", "-T", "redis", *REDIS_CLI, *args, timeout=30).stdout.strip()

    def close(self) -> None:
        for forwarder in self._forwarders.values():
            forwarder.close()
        self._forwarders.clear()

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
            self.close()
            self.down()
