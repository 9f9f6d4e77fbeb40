"""The benchmark's compose stack: project ``votingapp-bench``, docker-compose.yml plus compose.bench.yml."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import redis
import requests

from tooling import metrics
from tooling.compose import ComposeStack
from tooling.waiting import eventually

PROJECT = "votingapp-bench"
COMPOSE_FILES = os.pathsep.join(["docker-compose.yml", "bench/compose.bench.yml"])


def _env_file_value(name: str, default: str) -> str:
    """A value from compose.env (the credentials the stack's Postgres and Redis were started with)."""
    path = os.environ.get("VOTING_ENV_FILE", "compose.env")
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                if key == name:
                    return value
    except OSError:
        pass
    return default


@dataclass
class BenchStack(ComposeStack):
    project: str = PROJECT

    def env(self) -> dict[str, str]:
        return {**super().env(), "COMPOSE_FILE": COMPOSE_FILES}

    # The host ports as the running stack published them (it may have been started by another run).
    @property
    def vote_url(self) -> str:
        return self.url("vote")

    @property
    def result_url(self) -> str:
        return self.url("result")

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service, 8080)}"

    def metrics_url(self, service: str) -> str:
        """Where the service's /metrics is published for the benchmark (vote, result: their metrics port)."""
        return f"http://127.0.0.1:{self.port(service, 9090)}"

    def redis(self) -> redis.Redis:
        password = _env_file_value("REDIS_PASSWORD", "") or None
        return redis.Redis(host="127.0.0.1", port=self.port("redis", 6379), password=password, socket_timeout=30)

    def pg(self):
        conn = psycopg2.connect(
            host="127.0.0.1",
            port=self.port("db", 5432),
            user=_env_file_value("POSTGRES_USER", "postgres"),
            password=_env_file_value("POSTGRES_PASSWORD", ""),
            dbname=_env_file_value("POSTGRES_DB", "votes"),
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn

    def workers(self, count: int) -> None:
        """Run exactly ``count`` worker containers, all ready."""
        self.wait_healthy("worker")
        self.compose("up", "-d", "--no-deps", "--wait", "--wait-timeout", "120", "--scale", f"worker={count}", "worker")

    def recreate(self, service: str, env: dict[str, str]) -> None:
        """Start ``service`` again with ``env`` added to the harness's environment, and wait for it."""
        saved = self.extra_env
        self.extra_env = {**saved, **env}
        try:
            self.compose("up", "-d", "--no-deps", "--no-build", "--wait", "--wait-timeout", "120", service)
        finally:
            self.extra_env = saved

    def pause(self, service: str) -> None:
        self.compose("pause", service)

    def unpause(self, service: str) -> None:
        self.compose("unpause", service)

    def wait_healthy(self, service: str, timeout: float = 60) -> None:
        """Until every container of the service reports healthy again (a pause fails its checks)."""

        def healthy() -> bool:
            health = self.compose("ps", "--format", "{{.Health}}", service).stdout.split()
            return bool(health) and all(h == "healthy" for h in health)

        eventually(healthy, timeout, f"{service} to be healthy", 0.5)

    def container_ids(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).stdout.split()

    def container_url(self, service: str, port: int = 8080) -> str:
        host, port = self.container_address(service, port)
        return f"http://{host}:{port}"

    def cpu_ns(self, service: str) -> int | None:
        """CPU time all the service's containers have used, from their cgroups (None if unreadable)."""
        total = 0
        for cid in self.container_ids(service):
            full = subprocess.run(
                ["docker", "inspect", "-f", "{{.Id}}", cid], capture_output=True, text=True, check=True
            ).stdout.strip()
            used = _cgroup_cpu_ns(full)
            if used is None:
                return None
            total += used
        return total

    def memory_bytes(self, service: str) -> int:
        """Resident memory of the service's (first) container, as ``docker stats`` reports it."""
        cid = self.container_ids(service)[0]
        out = subprocess.run(
            ["docker", "stats", "--no-stream", "--format", "{{json .}}", cid],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        usage = json.loads(out.splitlines()[0])["MemUsage"].split("/")[0].strip()
        return parse_size(usage)

    def wait_results_ok(self, timeout: float = 60) -> None:
        """Until the result service reads the tally (the worker has created the schema)."""
        eventually(
            lambda: requests.get(f"{self.result_url}/api/results", timeout=2).json().get("state") == "ok",
            timeout,
            "the result service to show state ok",
            0.2,
            (requests.RequestException, ValueError),
        )


def _cgroup_cpu_ns(container_id: str) -> int | None:
    """CPU time the container has used (cgroup v1 or v2), or None where neither is readable."""
    for path in (
        f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage",
        f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat",
    ):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        if path.endswith("cpu.stat"):
            return int(dict(line.split() for line in text.splitlines())["usage_usec"]) * 1000
        return int(text)
    return None


def parse_size(text: str) -> int:
    units = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1000**2, "GB": 1000**3}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * units[unit])
    return int(float(text))


def metric(url: str, name: str, labels: dict[str, str] | None = None) -> float:
    """The value of one sample (summed over label sets not given) from a /metrics endpoint."""
    return metrics.total(requests.get(f"{url}/metrics", timeout=10).text, name, **(labels or {}))
