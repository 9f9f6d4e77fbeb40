"""Live tests against a real kind cluster (pytest -m kind).

They create or reuse the kind cluster ``voting-app`` (kind/config.yaml), build
and load the images (``make kind-load``), apply k8s-specifications/ and then
vote through the NodePorts published on localhost:31000 / localhost:31001.

Where kind, kubectl or docker is missing the whole module is skipped with one
reason; with REQUIRE_KIND=1 (the CI job "kind") that is an error instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

# building and loading images in the first test's setup can outlast the default per-test timeout
pytestmark = [pytest.mark.kind, pytest.mark.timeout(1800)]

_MISSING = [tool for tool in ("kind", "kubectl", "docker") if shutil.which(tool) is None]
if _MISSING:
    _REASON = (
        f"{'/'.join(_MISSING)} not installed: live Kubernetes tests need a kind cluster "
        "(see docs/kubernetes.md, CI job kind)"
    )
    if os.environ.get("REQUIRE_KIND"):
        raise RuntimeError(f"REQUIRE_KIND is set but {_REASON}")
    pytest.skip(_REASON, allow_module_level=True)

from kubernetes import client, config  # noqa: E402
from kubernetes.stream import stream  # noqa: E402

from tests.support import scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = os.environ.get("KIND_CLUSTER", "voting-app")
CONTEXT = f"kind-{CLUSTER}"
NS = "vote"
VOTE_URL = "http://localhost:31000"
RESULT_URL = "http://localhost:31001"
APPS = {"vote", "worker", "result", "redis", "db"}
TIMEOUT = float(os.environ.get("KIND_TIMEOUT", "300"))


def run(*cmd: str, timeout: float = 900) -> str:
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def wait_until(what: str, predicate, timeout: float = TIMEOUT, interval: float = 2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except client.ApiException as exc:  # e.g. a pod that vanished between list and read
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last})")


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def k8s():
    if CLUSTER not in run("kind", "get", "clusters").split():
        run("kind", "create", "cluster", "--name", CLUSTER, "--config", "kind/config.yaml", "--wait", "180s")
    run("make", "kind-load", f"KIND_CLUSTER={CLUSTER}", timeout=1800)
    run("kubectl", "--context", CONTEXT, "apply", "-f", "k8s-specifications")
    config.load_kube_config(context=CONTEXT)
    api = {"core": client.CoreV1Api(), "apps": client.AppsV1Api(), "discovery": client.DiscoveryV1Api()}
    wait_all_available(api)
    scenario.wait_http_ok(f"{VOTE_URL}/readyz", TIMEOUT)
    scenario.wait_http_ok(f"{RESULT_URL}/readyz", TIMEOUT)
    return api


def deployments(api) -> dict:
    return {d.metadata.name: d for d in api["apps"].list_namespaced_deployment(NS).items}


def is_available(d) -> bool:
    s = d.status
    want = d.spec.replicas or 0
    return (
        (s.observed_generation or 0) >= d.metadata.generation
        and (s.updated_replicas or 0) == want
        and (s.available_replicas or 0) == want
        and (s.replicas or 0) == want
    )


def wait_all_available(api) -> dict:
    def check():
        deps = deployments(api)
        return deps if set(deps) == APPS and all(is_available(d) for d in deps.values()) else None

    return wait_until("every Deployment in namespace vote to be available", check)


def ready_pods(api, app: str) -> list:
    pods = api["core"].list_namespaced_pod(NS, label_selector=f"app={app}").items
    return [
        p
        for p in pods
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]


def ready_endpoints(api, service: str) -> list[str]:
    slices = (
        api["discovery"]
        .list_namespaced_endpoint_slice(NS, label_selector=f"kubernetes.io/service-name={service}")
        .items
    )
    return [
        ep.target_ref.name
        for s in slices
        for ep in s.endpoints or []
        if ep.conditions and ep.conditions.ready and ep.target_ref
    ]


def scale(api, name: str, replicas: int) -> None:
    api["apps"].patch_namespaced_deployment_scale(name, NS, {"spec": {"replicas": replicas}})


def exec_in(api, pod: str, container: str, command: list[str]) -> str:
    return stream(
        api["core"].connect_get_namespaced_pod_exec,
        pod,
        NS,
        container=container,
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )


def fetch_results_when_up(timeout: float = TIMEOUT) -> dict:
    def check():
        try:
            return scenario.fetch_results(RESULT_URL)
        except Exception:  # result may still be reconnecting to a new db pod
            return None

    return wait_until("result's /api/results", check, timeout)


# --------------------------------------------------------------------------
# tests


def test_all_deployments_available_and_services_as_in_the_article(k8s):
    deps = wait_all_available(k8s)
    assert set(deps) == APPS
    svcs = {s.metadata.name: s for s in k8s["core"].list_namespaced_service(NS).items}
    assert set(svcs) == {"vote", "result", "redis", "db"}  # worker has no Service
    assert (svcs["vote"].spec.type, svcs["vote"].spec.ports[0].port, svcs["vote"].spec.ports[0].node_port) == (
        "NodePort",
        5000,
        31000,
    )
    assert (svcs["result"].spec.type, svcs["result"].spec.ports[0].port, svcs["result"].spec.ports[0].node_port) == (
        "NodePort",
        5001,
        31001,
    )
    assert svcs["db"].spec.type == svcs["redis"].spec.type == "ClusterIP"


def test_vote_on_31000_appears_on_31001(k8s):
    outcome = scenario.run_voting_scenario(VOTE_URL, RESULT_URL, voters=30, changers=10, timeout=120)
    assert outcome["seen"]["total"] == outcome["expected"]["total"]


def test_db_resolves_via_cluster_dns_to_db_vote_svc_cluster_local(k8s):
    pod = ready_pods(k8s, "vote")[0].metadata.name
    code = (
        "import json, socket; print(json.dumps([socket.gethostbyname('db'), "
        "socket.gethostbyname('db.vote.svc.cluster.local'), socket.getfqdn('db')]))"
    )
    out = exec_in(k8s, pod, "vote", ["python", "-c", code])
    short_ip, fqdn_ip, fqdn = json.loads(out.strip().splitlines()[-1])
    cluster_ip = k8s["core"].read_namespaced_service("db", NS).spec.cluster_ip
    assert short_ip == fqdn_ip == cluster_ip
    assert fqdn == "db.vote.svc.cluster.local"


def test_scale_vote_to_5_gives_5_ready_endpoints_and_several_hostnames(k8s):
    try:
        scale(k8s, "vote", 5)
        names = wait_until("5 ready endpoints of Service vote", lambda: _n_endpoints(k8s, "vote", 5))
        assert len(set(names)) == 5
        hosts = scenario.served_by(VOTE_URL, 60)
        assert len(hosts) > 1, f"60 fresh connections all served by {hosts}"
        assert hosts <= set(names), f"pages served by {hosts}, endpoints are {names}"
        scenario.run_voting_scenario(VOTE_URL, RESULT_URL, voters=20, changers=5, timeout=120)
    finally:
        scale(k8s, "vote", 1)
        wait_until("vote back to 1 ready endpoint", lambda: _n_endpoints(k8s, "vote", 1))
        wait_all_available(k8s)


def _n_endpoints(k8s, service: str, n: int) -> list[str] | None:
    names = ready_endpoints(k8s, service)
    return names if len(names) == n else None


def _delete_pods_and_wait(k8s, app: str) -> None:
    old = {p.metadata.name for p in k8s["core"].list_namespaced_pod(NS, label_selector=f"app={app}").items}
    assert old, f"no {app} pod"
    for name in old:
        k8s["core"].delete_namespaced_pod(name, NS)
    wait_until(
        f"a new ready {app} pod",
        lambda: (new := ready_pods(k8s, app)) and all(p.metadata.name not in old for p in new) and new,
    )


def test_deleting_db_and_worker_pods_loses_no_vote(k8s):
    scenario.run_voting_scenario(VOTE_URL, RESULT_URL, voters=20, changers=5, timeout=120)
    before = fetch_results_when_up()
    for app in ("db", "worker"):
        _delete_pods_and_wait(k8s, app)
    wait_all_available(k8s)
    assert fetch_results_when_up() == before
    scenario.run_voting_scenario(VOTE_URL, RESULT_URL, voters=20, changers=5, timeout=180)


def test_deleting_the_redis_pod_loses_no_acknowledged_vote(k8s):
    before = fetch_results_when_up()
    scenario.run_voting_scenario(VOTE_URL, RESULT_URL, voters=10, changers=2, timeout=120)
    _delete_pods_and_wait(k8s, "redis")
    wait_all_available(k8s)
    scenario.wait_http_ok(f"{VOTE_URL}/readyz", TIMEOUT)
    after = scenario.run_voting_scenario(VOTE_URL, RESULT_URL, voters=10, changers=2, timeout=180)
    assert after["expected"]["total"] > before["total"]


def test_rolling_update_of_vote_loses_no_acknowledged_vote(k8s):
    """Vote continuously while vote's pods are replaced; every acknowledged vote must be counted."""
    scale(k8s, "vote", 2)
    try:
        wait_until("2 ready vote endpoints", lambda: _n_endpoints(k8s, "vote", 2))
        now = datetime.now(UTC).isoformat()
        k8s["apps"].patch_namespaced_deployment(
            "vote",
            NS,
            {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}},
        )
        rounds, deadline = 0, time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            scenario.run_voting_scenario(VOTE_URL, RESULT_URL, voters=10, changers=3, timeout=120)
            rounds += 1
            dep = k8s["apps"].read_namespaced_deployment("vote", NS)
            old = [
                p
                for p in k8s["core"].list_namespaced_pod(NS, label_selector="app=vote").items
                if p.metadata.deletion_timestamp is not None
            ]
            if is_available(dep) and not old:
                break
        else:
            raise AssertionError("rollout of vote did not finish")
        assert rounds >= 2, "the rollout finished before votes were cast during it"
    finally:
        scale(k8s, "vote", 1)
        wait_all_available(k8s)
