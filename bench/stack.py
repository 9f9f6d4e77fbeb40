"""The benchmark's compose stack: project ``votingapp-bench``, docker-compose.yml plus compose.bench.yml."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import redis
import requests

from tooling import metrics
from tooling.compose import ComposeStack
from tooling.engine import docker
from tooling.waiting import eventually

COMPOSE_FILES = os.pathsep.join(["docker-compose.yml", "bench/compose.bench.yml"])
_SIZE_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1000**2, "GB": 1000**3}


def _credentials() -> dict[str, str]:
    """compose.env: the credentials the stack's Postgres and Redis were started with."""
    path = Path(os.environ.get("VOTING_ENV_FILE", "compose.env"))
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return dict(line.strip().partition("=")[::2] for line in lines if not line.startswith("#"))


@dataclass
class BenchStack(ComposeStack):
    project: str = "votingapp-bench"

    def env(self) -> dict[str, str]:
        return {**super().env(), "COMPOSE_FILE": COMPOSE_FILES}

    # The published ports themselves, not ComposeStack's forwarder: no extra hop in what is measured.
    @property
    def vote_url(self) -> str:
        return self.url("vote")

    @property
    def result_url(self) -> str:
        return self.url("result")

    def url(self, service: str, port: int = 8080) -> str:
        """Where the service's ``port`` is published now (9090: the metrics of vote and result)."""
        return f"http://127.0.0.1:{self.port(service, port)}"

    def metric(self, service: str, name: str) -> float:
        """One sample (summed over its label sets) from the service's /metrics."""
        return metrics.total(requests.get(f"{self.url(service, 9090)}/metrics", timeout=10).text, name)

    def redis(self) -> redis.Redis:
        password = _credentials().get("REDIS_PASSWORD") or None
        return redis.Redis(host="127.0.0.1", port=self.port("redis", 6379), password=password, socket_timeout=30)

    def pg(self):
        env = _credentials()
        conn = psycopg2.connect(
            host="127.0.0.1",
            port=self.port("db", 5432),
            user=env.get("POSTGRES_USER", "postgres"),
            password=env.get("POSTGRES_PASSWORD", ""),
            dbname=env.get("POSTGRES_DB", "votes"),
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn

    def workers(self, count: int) -> None:
        """Run exactly ``count`` worker containers, all ready."""

        def healthy() -> bool:  # again, after a pause (which fails the health checks)
            health = self.compose("ps", "--format", "{{.Health}}", "worker").stdout.split()
            return bool(health) and all(h == "healthy" for h in health)

        eventually(healthy, 60, "worker to be healthy", 0.5)
        self.compose("up", "-d", "--no-deps", "--wait", "--wait-timeout", "120", "--scale", f"worker={count}", "worker")

    def recreate(self, service: str, env: dict[str, str]) -> None:
        """Start ``service`` again with ``env`` added to the harness's environment, and wait for it."""
        saved = self.extra_env
        self.extra_env = {**saved, **env}
        try:
            self.compose("up", "-d", "--no-deps", "--no-build", "--wait", "--wait-timeout", "120", service)
        finally:
            self.extra_env = saved

    def cpu_ns(self, *services: str) -> dict[str, int]:
        """CPU time each service's containers have used, from their cgroups (v1 or v2); a service
        with a container whose cgroup can't be read is left out."""
        used: dict[str, int] = {}
        for service in services:
            total = 0
            for cid in self.compose("ps", "-q", service).stdout.split():
                full = docker("inspect", "-f", "{{.Id}}", cid).strip()
                v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{full}/cpuacct.usage")
                v2 = Path(f"/sys/fs/cgroup/system.slice/docker-{full}.scope/cpu.stat")
                if v1.is_file():
                    total += int(v1.read_text())
                elif v2.is_file():
                    total += int(dict(line.split() for line in v2.read_text().splitlines())["usage_usec"]) * 1000
                else:
                    break
            else:
                used[service] = total
        return used

    def memory_mib(self, service: str) -> float:
        """Resident memory of the service's (first) container, as ``docker stats`` reports it."""
        cid = self.compose("ps", "-q", service).stdout.split()[0]
        out = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", cid, timeout=60)
        usage = out.splitlines()[0].split("/")[0].strip()
        number, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]*)", usage).groups()  # type: ignore[union-attr]
        return float(number) * _SIZE_UNITS[unit or "B"] / 2**20

    def wait_results_ok(self, timeout: float = 60) -> None:
        """Until the result service reads the tally (the worker has created the schema)."""
        eventually(
            lambda: requests.get(f"{self.result_url}/api/results", timeout=2).json().get("state") == "ok",
            timeout,
            "the result service to show state ok",
            0.2,
            (requests.RequestException, ValueError),
        )


def cpu_us_per(before: dict[str, int], after: dict[str, int], count: int) -> dict[str, float]:
    """CPU µs per unit of work (request, vote) each service used between two ``cpu_ns`` readings."""
    return {name: (after[name] - used) / 1000 / count for name, used in before.items() if name in after and count}
