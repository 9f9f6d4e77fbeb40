"""A release of the Helm chart on the suite's kind cluster, in a namespace of its own, installed as
docs/kubernetes.md tells an operator to (the namespace labelled for Pod Security, the credentials
made first), and the ways the live tests look at it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from kubernetes import client, config

from tooling import manifests
from tooling.engine import docker
from tooling.waiting import eventually

from .conftest import ROOT, Cluster

RELEASE = "voting-app"
TIMEOUT = 300


class Release:
    def __init__(self, cluster: Cluster, namespace: str, node_ports: dict[str, int]):
        self.cluster, self.namespace, self.node_ports = cluster, namespace, node_ports
        api_client = config.new_client_from_config(
            config_file=cluster.env["KUBECONFIG"], context=f"kind-{cluster.name}"
        )
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.policy = client.PolicyV1Api(api_client)
        address = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", cluster.node)
        self.vote_url = f"http://{address.strip()}:{node_ports['vote']}"
        self.result_url = f"http://{address.strip()}:{node_ports['result']}"

    def helm(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        cmd = [manifests.helm(), *args, "--namespace", self.namespace, "--kube-context", f"kind-{self.cluster.name}"]
        return subprocess.run(cmd, cwd=ROOT, env=self.cluster.env, capture_output=True, text=True, timeout=timeout)

    def upgrade(self, *values: str) -> None:
        """`helm upgrade` keeping the release's values, with ``--set`` ``values``; waits for it."""
        sets = [arg for value in values for arg in ("--set", value)]
        ok(self.helm("upgrade", RELEASE, str(manifests.CHART), "--reuse-values", *sets, "--wait", "--timeout", "5m"))

    def kubectl(self, *args: str) -> None:
        done = self.cluster.kubectl(*args)
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stdout}{done.stderr}"

    def ready_pods(self, app: str, color: str | None = None) -> list[str]:
        selector = f"app={app}" + (f",color={color}" if color else "")
        return [
            p.metadata.name
            for p in self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
            if p.metadata.deletion_timestamp is None
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        ]

    def wait_ready(self, app: str, n: int, color: str | None = None) -> list[str]:
        return eventually(
            lambda: (pods := self.ready_pods(app, color)) and len(pods) == n and pods,
            TIMEOUT,
            f"{n} ready {app} pods{f' ({color})' if color else ''} in {self.namespace}",
            1,
            (client.ApiException,),
        )


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"{done.args[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@contextmanager
def installed(r: Release, *values_files: str) -> Iterator[Release]:
    """The chart installed by `make install-chart` (as docs/kubernetes.md tells an operator to) with
    ``values_files`` of the chart's folder, on the release's NodePorts; uninstalled afterwards."""
    ports = " ".join(f"--set={app}.service.nodePort={port}" for app, port in r.node_ports.items())
    try:
        values = f"CHART_VALUES={' '.join(values_files)}"
        r.cluster.make("install-chart", f"K8S_NAMESPACE={r.namespace}", values, f"HELM_ARGS={ports}", timeout=900)
        yield r
    finally:
        r.helm("uninstall", RELEASE, "--wait")
        r.kubectl("delete", "namespace", r.namespace, "--wait=true")
