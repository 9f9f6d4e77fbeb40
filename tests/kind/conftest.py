"""The live Kubernetes suite's cluster: created with the same make targets a user runs.

The suite makes its own kind cluster (``voting-app-test``, or KIND_TEST_CLUSTER), with the
NodePorts 31000/31001 published on ports Docker chooses (so it never collides with a user's
``voting-app`` cluster), builds and loads the images, deploys ``k8s-specifications/``, and at
the end undeploys and deletes the cluster, checking that nothing is left behind.

It has one control plane and KIND_TEST_WORKERS workers (default 3, one per Redis server of the
high-availability test), so pods talk across nodes and the NetworkPolicies are enforced there
too. Without a Docker engine the suite is skipped, unless REQUIRE_KIND is set (as ``.ci/run``
does): then it fails. Set KIND_KEEP=1 to keep the cluster for a look afterwards, and AIRGAPPED=1
(as ``.ci/run`` does) where no container registry answers.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass

import pytest
import yaml

from tooling import ROOT
from tooling.engine import docker, docker_answers

NS = "vote"


def make(*args: str, env: dict[str, str], timeout: float = 3600) -> str:
    done = subprocess.run(
        ["make", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, (
        f"make {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


@dataclass
class Cluster:
    name: str
    env: dict[str, str]
    vote_url: str
    result_url: str

    @property
    def node(self) -> str:
        """The control plane, where the NodePorts are published."""
        return f"{self.name}-control-plane"

    def nodes(self) -> list[str]:
        """Every node; a kind node's name is its container's."""
        names = docker("ps", "--filter", f"label=io.x-k8s.kind.cluster={self.name}", "--format", "{{.Names}}")
        return sorted(names.split())

    def make(self, *args: str, timeout: float = 3600) -> str:
        return make(*args, f"KIND_CLUSTER={self.name}", env=self.env, timeout=timeout)

    def node_exec(self, *command: str, node: str | None = None) -> str:
        return docker("exec", node or self.node, *command)

    @functools.cached_property
    def tools_path(self) -> str:
        """Where the make targets put kind and kubectl when they are not installed."""
        build = [str(ROOT / "kind" / "airgapped" / "build"), "--tools-path"]
        return subprocess.run(build, capture_output=True, text=True, check=True).stdout.strip()

    def kubectl(self, *args: str) -> subprocess.CompletedProcess:
        """kubectl against this cluster: the one on PATH, else the one the make targets built."""
        env = {**self.env, "PATH": f"{self.tools_path}:{self.env.get('PATH', '')}"}
        cmd = ["kubectl", "--context", f"kind-{self.name}", *args]
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def _published(node: str, port: int) -> str:
    # "127.0.0.1:49153" (one line per address family)
    return docker("port", node, f"{port}/tcp").split()[0]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> Cluster:
    if not docker_answers():
        reason = "no Docker engine: the live Kubernetes suite creates a kind cluster in Docker"
        if os.environ.get("REQUIRE_KIND"):
            pytest.fail(f"REQUIRE_KIND is set but {reason}")
        pytest.skip(reason)
    name = os.environ.get("KIND_TEST_CLUSTER", "voting-app-test")
    work = tmp_path_factory.mktemp("kind")
    config = yaml.safe_load((ROOT / "kind" / "config.yaml").read_text())
    for node in config["nodes"]:
        for mapping in node.get("extraPortMappings", []):
            mapping["hostPort"] = 0  # Docker chooses; read back below
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "KUBECONFIG": str(work / "kubeconfig")}
    c = Cluster(name, env, "", "")
    c.make("kind-down")  # a cluster left by an interrupted run
    workers = os.environ.get("KIND_TEST_WORKERS", "3")
    c.make("kind-up", f"KIND_CONFIG={work / 'config.yaml'}", f"KIND_WORKERS={workers}")
    c.vote_url = f"http://{_published(c.node, 31000)}"
    c.result_url = f"http://{_published(c.node, 31001)}"
    c.make("kind-load", "deploy")
    yield c
    if os.environ.get("KIND_KEEP"):
        return
    c.make("undeploy")
    c.make("kind-down")
    left = docker("ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={name}", "--format", "{{.Names}}")
    assert left.strip() == "", f"kind-down left containers behind: {left}"
