"""Live tests against a real kind cluster (pytest -m kind), made by ``conftest.cluster``.

Votes go in through NodePort 31000 and totals come out through NodePort 31001, with the
same scenario code as the compose end-to-end test.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
import yaml
from kubernetes import client, config
from kubernetes.stream import stream

from loadgen.voters import fetch_totals
from tests.support import hostile, scenario
from tooling import manifests
from tooling.engine import docker
from tooling.waiting import eventually
from voting_common.contract import OPTIONS
from voting_common.settings import GunicornSettings

from .conftest import NS, ROOT, Cluster

pytestmark = [pytest.mark.kind, pytest.mark.timeout(3600)]

APPS = {"vote", "worker", "result", "redis", "db"}
TIMEOUT = 300


@pytest.fixture(scope="module")
def k8s(cluster: Cluster) -> dict:
    api_client = config.new_client_from_config(config_file=cluster.env["KUBECONFIG"], context=f"kind-{cluster.name}")
    api = {
        "core": client.CoreV1Api(api_client),
        "apps": client.AppsV1Api(api_client),
        "discovery": client.DiscoveryV1Api(api_client),
    }
    wait_all_available(api)
    scenario.wait_http_ok(f"{cluster.vote_url}/readyz", TIMEOUT)
    scenario.wait_http_ok(f"{cluster.result_url}/readyz", TIMEOUT)
    return api


def until(what: str, check, timeout: float = TIMEOUT):
    return eventually(check, timeout, what, 1, (client.ApiException,))


def workloads(api) -> dict:
    """The Deployments (vote, result, worker) and StatefulSets (db, redis) by name."""
    apps = api["apps"]
    both = apps.list_namespaced_deployment(NS).items + apps.list_namespaced_stateful_set(NS).items
    return {w.metadata.name: w for w in both}


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
        found = workloads(api)
        return found if set(found) == APPS and all(is_available(w) for w in found.values()) else None

    return until("every Deployment and StatefulSet in namespace vote to be available", check)


def pods(api, app: str) -> list:
    return [
        p
        for p in api["core"].list_namespaced_pod(NS, label_selector=f"app={app}").items
        if p.metadata.deletion_timestamp is None
    ]


def ready_pods(api, app: str) -> list:
    return [
        p for p in pods(api, app) if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
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


def n_endpoints(api, service: str, n: int) -> list[str] | None:
    names = ready_endpoints(api, service)
    return names if len(names) == n else None


def programmed_endpoints(cluster: Cluster, service: str) -> set[str]:
    """Pod addresses that kube-proxy has written into the node's NAT rules for ``service``.

    A ready endpoint in the EndpointSlice is not yet a route: kube-proxy programs it a moment later
    (at least its minimum sync period), so a test of how the Service spreads connections waits for this.
    """
    rules = cluster.node_exec(
        "sh", "-c", "iptables-nft-save -t nat 2>/dev/null; iptables-legacy-save -t nat 2>/dev/null"
    )
    return set(re.findall(rf'--comment "{NS}/{service}(?::[^ "]*)? -> ([0-9.]+:[0-9]+)"', rules))


def scale(api, name: str, replicas: int) -> None:
    api["apps"].patch_namespaced_deployment_scale(name, NS, {"spec": {"replicas": replicas}})


def exec_in(api, app: str, command: list[str]) -> str:
    pod = ready_pods(api, app)[0].metadata.name
    return stream(
        api["core"].connect_get_namespaced_pod_exec,
        pod,
        NS,
        container=app,
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )


def python_in(api, app: str, code: str) -> object:
    """Run Python in a pod of ``app`` (every app image has it); returns its last line as JSON."""
    out = exec_in(api, app, ["python", "-c", code])
    return json.loads(out.strip().splitlines()[-1])


def results_when_up(cluster: Cluster) -> dict:
    return eventually(
        lambda: fetch_totals(cluster.result_url), TIMEOUT, "result's /api/results", 1, (requests.RequestException,)
    )


def delete_pods_and_wait(api, app: str) -> None:
    """Delete the pods of ``app``, wait for ready replacements (a StatefulSet's keep the name)."""
    old = {p.metadata.uid: p.metadata.name for p in pods(api, app)}
    assert old, f"no {app} pod"
    for name in old.values():
        api["core"].delete_namespaced_pod(name, NS)
    until(
        f"a new ready {app} pod",
        lambda: (new := ready_pods(api, app)) and all(p.metadata.uid not in old for p in new) and new,
    )


# --------------------------------------------------------------------------
# the app as the walkthrough describes it


def test_all_deployments_available_and_services_as_specified(k8s):
    deps = wait_all_available(k8s)
    assert set(deps) == APPS
    svcs = {s.metadata.name: s for s in k8s["core"].list_namespaced_service(NS).items}
    assert set(svcs) == {"vote", "result", "redis", "db"}  # worker has no Service
    ports = {name: (s.spec.type, s.spec.ports[0].port, s.spec.ports[0].node_port) for name, s in svcs.items()}
    assert ports["vote"] == ("NodePort", 5000, 31000)
    assert ports["result"] == ("NodePort", 5001, 31001)
    assert svcs["db"].spec.type == svcs["redis"].spec.type == "ClusterIP"


def test_apply_k_applies_exactly_what_apply_f_applied(k8s, cluster):
    """`kubectl apply -k k8s-specifications` (its Kustomization) names the same objects as the
    folder's manifests, and finds nothing to change in what `kubectl apply -f` deployed."""
    built = cluster.kubectl("kustomize", "k8s-specifications")
    assert built.returncode == 0, built.stderr
    kustomized = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(built.stdout) if d}
    applied = set()
    for path in sorted((ROOT / "k8s-specifications").glob("*.yaml")):
        applied |= {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(path.read_text()) if d}
    assert kustomized == applied
    diff = cluster.kubectl("diff", "-k", "k8s-specifications")
    assert diff.returncode == 0, f"kubectl diff -k found changes:\n{diff.stdout[-3000:]}{diff.stderr[-2000:]}"


def test_vote_through_31000_counted_exactly_through_31001(k8s, cluster):
    outcome = scenario.run_voting_scenario(cluster.vote_url, cluster.result_url, voters=30, changers=10, timeout=120)
    assert outcome["seen"] == outcome["expected"]


def test_slow_request_headers_through_the_nodeports_do_not_hold_up_voters(k8s, cluster):
    """64 slowloris connections on each NodePort (16 took gthread's vote offline); a voter is served at once."""
    keepalive_s = GunicornSettings().keepalive_s  # the manifests leave it at its default
    before = fetch_totals(cluster.result_url)
    seconds = keepalive_s * 3
    with (
        hostile.hold(hostile.address_of(cluster.vote_url), 64, hostile.SLOW_HEADERS, seconds) as on_vote,
        hostile.hold(hostile.address_of(cluster.result_url), 64, hostile.SLOW_HEADERS, seconds) as on_result,
    ):
        served = hostile.ordinary_voter(cluster.vote_url, cluster.result_url, 20, timeout_s=keepalive_s)
        assert on_vote.open_now == on_result.open_now == 64  # all held open meanwhile
    hostile.assert_prompt(served, keepalive_s)
    scenario.wait_for_totals(cluster.result_url, hostile.expected_totals(before, served), timeout=120)


def test_coredns_resolves_db_and_redis_by_short_and_full_name(k8s):
    code = (
        "import json, socket; print(json.dumps({n: [socket.gethostbyname(n), "
        "socket.gethostbyname(n + '.vote.svc.cluster.local')] for n in ('db', 'redis')}))"
    )
    seen = python_in(k8s, "worker", code)
    for name in ("db", "redis"):
        cluster_ip = k8s["core"].read_namespaced_service(name, NS).spec.cluster_ip
        assert seen[name] == [cluster_ip, cluster_ip], f"{name}: {seen[name]} != Service ClusterIP {cluster_ip}"


def test_scale_vote_to_5_gives_5_ready_endpoints_and_answers_from_several_pods(k8s, cluster):
    try:
        scale(k8s, "vote", 5)
        names = until("5 ready endpoints of Service vote", lambda: n_endpoints(k8s, "vote", 5))
        assert len(set(names)) == 5
        until("kube-proxy routes Service vote to 5 pods", lambda: len(programmed_endpoints(cluster, "vote")) == 5)
        hosts = scenario.served_by(cluster.vote_url, 60)
        assert len(hosts) > 1, f"60 fresh connections all served by {hosts}"
        assert hosts <= set(names), f"pages served by {hosts}, endpoints are {names}"
        scenario.run_voting_scenario(cluster.vote_url, cluster.result_url, voters=20, changers=5, timeout=120)
    finally:
        scale(k8s, "vote", 1)
        until("vote back to 1 ready endpoint", lambda: n_endpoints(k8s, "vote", 1))
        wait_all_available(k8s)


# --------------------------------------------------------------------------
# nothing acknowledged is lost


def test_deleting_db_and_worker_pods_keeps_every_vote(k8s, cluster):
    """The db pod's replacement opens the same PersistentVolume: every vote is still there."""
    scenario.run_voting_scenario(cluster.vote_url, cluster.result_url, voters=20, changers=5, timeout=120)
    before = results_when_up(cluster)
    old_db_uid = pods(k8s, "db")[0].metadata.uid
    for app in ("db", "worker"):
        delete_pods_and_wait(k8s, app)
    wait_all_available(k8s)
    assert pods(k8s, "db")[0].metadata.uid != old_db_uid
    assert results_when_up(cluster) == before
    scenario.run_voting_scenario(cluster.vote_url, cluster.result_url, voters=20, changers=5, timeout=180)


def test_deleting_the_redis_pod_loses_no_acknowledged_vote(k8s, cluster):
    scenario.run_voting_scenario(cluster.vote_url, cluster.result_url, voters=10, changers=2, timeout=120)
    delete_pods_and_wait(k8s, "redis")
    wait_all_available(k8s)
    scenario.wait_http_ok(f"{cluster.vote_url}/readyz", TIMEOUT)
    outcome = scenario.run_voting_scenario(cluster.vote_url, cluster.result_url, voters=10, changers=2, timeout=180)
    assert outcome["seen"] == outcome["expected"]


def test_worker_sigkilled_in_the_cluster_loses_and_double_counts_nothing(k8s, cluster):
    """SIGKILL the worker's container (from the node, as the OOM killer would) while votes stream in."""
    pod = ready_pods(k8s, "worker")[0]
    restarts = pod.status.container_statuses[0].restart_count
    container_id = pod.status.container_statuses[0].container_id.split("://", 1)[1]
    outcome: dict = {}
    first = fetch_totals(cluster.result_url)["total"] + 50

    def vote() -> None:
        outcome.update(
            scenario.run_voting_scenario(cluster.vote_url, cluster.result_url, voters=800, changers=200, timeout=300)
        )

    voting = threading.Thread(target=vote)
    voting.start()
    # The kill lands once the worker has counted the first 50 votes, with hundreds still to come.
    until("the first votes counted", lambda: fetch_totals(cluster.result_url)["total"] >= first, 120)
    kill = ("ctr", "--namespace=k8s.io", "tasks", "kill", "--signal", "SIGKILL", container_id)
    cluster.node_exec(*kill, node=pod.spec.node_name)
    killed_mid_stream = voting.is_alive()
    voting.join(timeout=400)
    assert killed_mid_stream, "the voters had finished before the kill"
    assert outcome, "the voting scenario did not finish"
    assert outcome["seen"] == outcome["expected"]

    # The kubelet reports the restart in the pod's status shortly after it happened (its own sync):
    # wait for that report, and for it to name a new container.
    def restarted():
        status = k8s["core"].read_namespaced_pod(pod.metadata.name, NS).status.container_statuses[0]
        return status.restart_count > restarts and status.container_id.split("://", 1)[1] != container_id

    until("the killed worker's restart in its pod status", restarted, 120)


def test_rolling_update_of_vote_loses_no_acknowledged_vote(k8s, cluster):
    """Vote continuously while vote's pods are replaced; every acknowledged vote must be counted."""
    scale(k8s, "vote", 2)
    try:
        until("2 ready vote endpoints", lambda: n_endpoints(k8s, "vote", 2))
        now = datetime.now(UTC).isoformat()
        k8s["apps"].patch_namespaced_deployment(
            "vote",
            NS,
            {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}},
        )
        rounds, deadline = 0, time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            outcome = scenario.run_voting_scenario(
                cluster.vote_url, cluster.result_url, voters=10, changers=3, timeout=120
            )
            assert outcome["seen"] == outcome["expected"]
            rounds += 1
            dep = k8s["apps"].read_namespaced_deployment("vote", NS)
            terminating = [
                p
                for p in k8s["core"].list_namespaced_pod(NS, label_selector="app=vote").items
                if p.metadata.deletion_timestamp is not None
            ]
            if is_available(dep) and not terminating:
                break
        else:
            raise AssertionError("rollout of vote did not finish")
        assert rounds >= 2, "the rollout finished before votes were cast during it"
    finally:
        scale(k8s, "vote", 1)
        wait_all_available(k8s)


# --------------------------------------------------------------------------
# the cluster enforces what the manifests ask


CONNECT = (
    "import json, socket\n"
    "def reach(host, port):\n"
    "    try:\n"
    "        socket.create_connection((host, port), timeout=3).close()\n"
    "        return 'connected'\n"
    "    except OSError as exc:\n"
    "        return type(exc).__name__\n"
    "print(json.dumps({t: reach(*t.split(':')) for t in TARGETS}))\n"
)


def reachability(api, app: str, targets: list[str]) -> dict[str, str]:
    return python_in(api, app, f"TARGETS = {targets!r}\n{CONNECT}")


def test_network_policy_refuses_vote_to_db_and_allows_the_declared_flows(k8s):
    from_vote = reachability(k8s, "vote", ["db:5432", "redis:6379"])
    assert from_vote["redis:6379"] == "connected"
    assert from_vote["db:5432"] != "connected", "vote reached db:5432: NetworkPolicy is not enforced"
    from_worker = reachability(k8s, "worker", ["db:5432", "redis:6379"])
    assert from_worker == {"db:5432": "connected", "redis:6379": "connected"}  # and DNS resolved both names
    from_result = reachability(k8s, "result", ["db:5432", "redis:6379"])
    assert from_result["db:5432"] == "connected"
    assert from_result["redis:6379"] != "connected", "result reached redis:6379: NetworkPolicy is not enforced"


def probe_from_namespace(
    k8s, namespace: str, targets: list[str], node: str | None = None, admitted_on=(), cluster=None
) -> dict[str, str]:
    """Connect to ``targets`` from a pod in a namespace of its own (on ``node`` if given), made here and
    deleted after: no policy of ours limits its egress, so what it cannot reach is refused by the
    target's ingress.

    A policy that admits the new pod takes effect once kube-router on the target's node has put the
    pod's address in its sets, a moment after the pod runs: with ``admitted_on`` (the targets'
    nodes), the probe waits for that on each of them before it connects."""
    core = k8s["core"]
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        hardened = {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        image = f"votingapp/vote:{manifests.app_version()}"
        container = {"name": "probe", "image": image, "command": ["sleep", "600"], "securityContext": hardened}
        pod = {
            "metadata": {"name": "probe"},
            "spec": {
                "containers": [container],
                "automountServiceAccountToken": False,
                "nodeName": node,
                "terminationGracePeriodSeconds": 0,
            },
        }
        core.create_namespaced_pod(namespace, pod)
        until(
            f"the probe pod in {namespace} to run",
            lambda: core.read_namespaced_pod("probe", namespace).status.phase == "Running",
        )
        address = core.read_namespaced_pod("probe", namespace).status.pod_ip
        for target_node in admitted_on:
            until(
                f"kube-router on {target_node} to admit the probe at {address}",
                lambda n=target_node: re.search(
                    rf"^{re.escape(address)}\b", cluster.node_exec("ipset", "list", node=n), re.M
                ),
            )
        out = stream(
            core.connect_get_namespaced_pod_exec,
            "probe",
            namespace,
            container="probe",
            command=["python", "-c", f"TARGETS = {targets!r}\n{CONNECT}"],
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
        )
        return json.loads(out.strip().splitlines()[-1])
    finally:
        core.delete_namespace(namespace)
        # Gone before the next probe may make a namespace of the same name.
        until(
            f"namespace {namespace} to be deleted",
            lambda: not core.list_namespace(field_selector=f"metadata.name={namespace}").items,
        )


def test_network_policy_admits_only_the_declared_clients_from_other_namespaces(k8s, cluster):
    """The pages' port is open to all; the metrics ports only to namespace monitoring; db and redis
    to no one outside the app."""
    pods = [ready_pods(k8s, app)[0] for app in ("vote", "worker")]
    vote, worker = (p.status.pod_ip for p in pods)
    page, vote_metrics, worker_metrics = f"{vote}:8080", f"{vote}:9090", f"{worker}:8080"
    stores = [f"db.{NS}.svc.cluster.local:5432", f"redis.{NS}.svc.cluster.local:6379"]
    targets = [page, vote_metrics, worker_metrics, *stores]
    elsewhere = probe_from_namespace(k8s, "netpol-elsewhere", targets)
    assert elsewhere[page] == "connected"
    assert [t for t in targets[1:] if elsewhere[t] == "connected"] == [], elsewhere
    nodes = {p.spec.node_name for p in pods}
    monitoring = probe_from_namespace(k8s, "monitoring", targets, admitted_on=nodes, cluster=cluster)
    assert [monitoring[t] for t in (page, vote_metrics, worker_metrics)] == ["connected"] * 3, monitoring
    assert [t for t in stores if monitoring[t] == "connected"] == [], monitoring


def test_pods_reach_each_other_across_nodes_and_the_policies_hold_there_too(k8s, cluster):
    """From a node other than the vote pod's: its page and, from namespace monitoring, its metrics
    answer (routed between nodes, names resolved by CoreDNS wherever it runs); from any other
    namespace its metrics port and the stores stay closed."""
    vote = ready_pods(k8s, "vote")[0]
    workers = [n.metadata.name for n in k8s["core"].list_node().items if not n.spec.taints]
    assert len(workers) >= 2, f"pods run on {workers}: the suite needs two or more workers (KIND_TEST_WORKERS)"
    elsewhere = next(n for n in workers if n != vote.spec.node_name)
    page, metrics = f"{vote.status.pod_ip}:8080", f"{vote.status.pod_ip}:9090"
    stores = [f"db.{NS}.svc.cluster.local:5432", f"redis.{NS}.svc.cluster.local:6379"]
    targets = [page, metrics, *stores]
    monitoring = probe_from_namespace(
        k8s, "monitoring", targets, node=elsewhere, admitted_on=[vote.spec.node_name], cluster=cluster
    )
    assert (monitoring[page], monitoring[metrics]) == ("connected", "connected"), monitoring
    other = probe_from_namespace(k8s, "netpol-across-nodes", targets, node=elsewhere)
    assert [t for t in stores if monitoring[t] == "connected"] == [], monitoring
    assert other[page] == "connected", other
    assert [t for t in (metrics, *stores) if other[t] == "connected"] == [], other


def test_pod_security_rejects_a_privileged_pod_in_namespace_vote(k8s):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged-probe", "namespace": NS},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": f"votingapp/vote:{manifests.app_version()}",
                    "securityContext": {"privileged": True},
                }
            ]
        },
    }
    with pytest.raises(client.ApiException) as refused:
        k8s["core"].create_namespaced_pod(NS, pod)
    assert refused.value.status == 403
    assert "violates PodSecurity" in refused.value.body


# --------------------------------------------------------------------------
# a redeploy runs the new code


def test_make_deploy_restarts_what_runs_an_older_image(k8s, cluster):
    """Load a changed vote image under the same tag: ``make deploy`` rolls vote onto it."""
    image = f"votingapp/vote:{manifests.app_version()}"
    original = docker("image", "inspect", "-f", "{{.Id}}", image).strip()
    label = f"redeploy-test={time.time()}"
    changed = docker("build", "-q", "-t", image, "--label", label, "-", stdin=f"FROM {image}\n").strip()
    assert changed != original
    try:
        cluster.make("kind-load-images", f"KIND_LOAD_IMAGES={image}")
        cluster.make("deploy")
        running = {
            s.image_id.rsplit("@", 1)[-1] for p in ready_pods(k8s, "vote") for s in p.status.container_statuses or []
        }
        assert running == {changed}, f"vote runs {running}, the loaded image is {changed}"
    finally:
        docker("tag", original, image)
        cluster.make("kind-load-images", f"KIND_LOAD_IMAGES={image}")
        cluster.make("deploy")
    wait_all_available(k8s)


def test_metrics_are_served_in_the_pod_and_not_through_the_nodeports(k8s, cluster):
    for url in (cluster.vote_url, cluster.result_url):
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 404, f"{url}/metrics is public"
    code = (
        "import json, urllib.request; body = urllib.request.urlopen('http://127.0.0.1:9090/metrics', timeout=5)"
        ".read().decode(); print(json.dumps('# TYPE' in body))"
    )
    for app in ("vote", "result"):
        assert python_in(k8s, app, code) is True, f"{app} serves no metrics on its metrics port"


def test_redis_refuses_a_client_without_the_password(k8s):
    """From the vote pod (which NetworkPolicy lets reach Redis), a client without the password is refused."""
    code = (
        "import json, redis\n"
        "try:\n"
        "    redis.Redis(host='redis', socket_timeout=5).ping()\n"
        "    print(json.dumps('answered'))\n"
        "except redis.exceptions.AuthenticationError as exc:\n"
        "    print(json.dumps('refused: ' + str(exc)))\n"
    )
    outcome = python_in(k8s, "vote", code)
    assert outcome.startswith("refused"), f"Redis answered a client without the password: {outcome}"


def test_worker_scaled_to_zero_under_voting_is_said_counting_stalled_then_counted_exactly(k8s, cluster):
    """Votes acknowledged while no worker runs: the results say counting_stalled (503) within
    COUNTING_STALL_AFTER_S (its default, 10 s) of the last report; scaled back to one, live again by
    themselves with every vote counted once."""
    from voting_common.settings import CountingSettings

    stall_after_s = CountingSettings.model_fields["counting_stall_after_s"].default
    before = results_when_up(cluster)
    cast = dict.fromkeys(OPTIONS, 0)

    def vote_as_new_voter() -> None:
        option = OPTIONS[0] if sum(cast.values()) % 3 else OPTIONS[1]
        with requests.Session() as voter:
            scenario.cast(voter, cluster.vote_url, option)
        cast[option] += 1

    def state() -> tuple[int, dict]:
        response = requests.get(f"{cluster.result_url}/api/results", timeout=5)
        return response.status_code, response.json()

    for _ in range(10):
        vote_as_new_voter()
    scale(k8s, "worker", 0)
    try:
        until("no worker pod left", lambda: not pods(k8s, "worker"), 120)
        gone_at = time.monotonic()

        def stalled_while_voting():
            vote_as_new_voter()  # one more vote per look: voting goes on
            status, body = state()
            return status == 503 and body["state"] == "counting_stalled" and body

        body = eventually(stalled_while_voting, stall_after_s + 20, "results saying counting stalled", 0.5)
        shown_after = time.monotonic() - gone_at
        assert body["stalled_since"] and body["waiting"] is None  # nobody reports: unknown how many
    finally:
        scale(k8s, "worker", 1)
    started = time.monotonic()
    expected = {o: before[o] + cast[o] for o in OPTIONS}
    expected["total"] = sum(expected.values())
    # Totals are read from 200 answers only: exact totals shown means live and correct.
    seen, _ = scenario.wait_for_totals(cluster.result_url, expected, 180)
    assert state()[1]["state"] == "ok"
    print(
        f"worker scaled to 0: counting_stalled shown {shown_after:.1f} s after its pod was gone; "
        f"live and correct {time.monotonic() - started:.1f} s after scaling back to 1 ({sum(cast.values())} votes)"
    )
    assert seen["total"] == expected["total"]
