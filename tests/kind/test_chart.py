"""The Helm chart live, on the suite's kind cluster, beside the plain manifests' namespace ``vote``.

A release with values-production.yaml goes into a namespace of its own (its NodePorts moved to
31010/31011 and reached on the node's address): two of each stateless service, `helm test`, the
vote autoscaler scaling out under load and back in (metrics-server), a LoadBalancer address from
MetalLB, a drain that the PodDisruptionBudgets hold up, `helm upgrade` to a new image and a
blue-green promotion and roll-back under continuous voting, and `helm uninstall`.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client

from loadgen import voters
from tests.support import scenario
from tooling import manifests
from tooling.engine import docker
from tooling.waiting import eventually
from voting_common.contract import OPTIONS

from .conftest import Cluster
from .release import RELEASE, Release, installed, ok

pytestmark = [pytest.mark.kind, pytest.mark.timeout(1800)]

NS = "vote-prod"
NODE_PORTS = {"vote": 31010, "result": 31011}
SECOND_TAG = "second-version-test"  # the vote image under a second tag: a version to move to
TIMEOUT = 300


@pytest.fixture(scope="module")
def release(cluster: Cluster):
    with installed(Release(cluster, NS, NODE_PORTS), "values-production.yaml") as r:
        yield r


def test_production_values_run_two_of_each_and_helm_test_passes(release):
    for app in ("vote", "result", "worker"):  # vote and result: the HPA's minReplicas
        release.wait_ready(app, 2)
        spec = release.apps.read_namespaced_deployment(app, NS).spec.template.spec
        assert spec.topology_spread_constraints[0].topology_key == "kubernetes.io/hostname"
    for app in ("vote", "result"):
        hpa = client.AutoscalingV2Api(release.core.api_client).read_namespaced_horizontal_pod_autoscaler(app, NS)
        assert hpa.spec.min_replicas == 2
    assert {s.metadata.name for s in release.apps.list_namespaced_stateful_set(NS).items} == {"db", "redis"}
    tested = ok(release.helm("test", RELEASE, "--logs", timeout=300))
    assert "votes counted" in tested
    outcome = scenario.run_voting_scenario(release.vote_url, release.result_url, voters=20, changers=5, timeout=120)
    assert outcome["seen"] == outcome["expected"]


@pytest.fixture(scope="module")
def addons(release):
    """metrics-server and MetalLB, installed as docs/kubernetes.md tells a user to."""
    release.cluster.make("kind-addons")


def test_the_vote_autoscaler_scales_out_under_load_and_back_in(release, addons):
    """Votes as fast as 16 clients can send them until the HPA has started a third vote pod, then
    quiet until it is back at its minimum; every acknowledged vote is counted once."""
    release.upgrade("vote.autoscaling.behavior.scaleDown.stabilizationWindowSeconds=10")
    autoscaling = client.AutoscalingV2Api(release.core.api_client)

    def status():
        return autoscaling.read_namespaced_horizontal_pod_autoscaler("vote", NS).status

    def cpu_read() -> bool:
        metrics = status().current_metrics or []
        return bool(metrics) and metrics[0].resource.current.average_utilization is not None

    eventually(cpu_read, 180, "the vote HPA to read CPU use from metrics-server", 2)
    before = scenario.settled_totals(release.result_url)
    plan = voters.VotePlan(voters=50_000, change_share=0.1, seed=secrets.randbits(30))
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        load = pool.submit(voters.run, release.vote_url, plan, concurrency=16, deadline_s=TIMEOUT, stop=stop)
        try:
            eventually(
                lambda: len(release.ready_pods("vote")) > 2 or load.done(),
                TIMEOUT,
                "a third ready vote pod under load",
                1,
            )
        finally:
            stop.set()
        outcome = load.result()
    assert len(release.ready_pods("vote")) > 2, f"no scale-out before the load ran out: {outcome.summary()}"
    assert not outcome.errors, outcome.summary()
    expected = {k: before[k] + v for k, v in outcome.acknowledged_totals().items()}
    scenario.wait_for_totals(release.result_url, expected, 120)
    eventually(
        lambda: status().desired_replicas == 2 and len(release.ready_pods("vote")) == 2,
        TIMEOUT,
        "the vote HPA back at its minimum of 2 once the load is gone",
        2,
    )


METALLB_ANNOUNCED = "nodeAssigned"  # the event MetalLB's speaker records once it answers for an address
VOTE_FROM_THE_NETWORK = """
import sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/api/vote", data=sys.argv[3].encode(), method="POST",
    headers={"Content-Type": "application/json", "Cookie": "voter_id=" + sys.argv[2]})
print(urllib.request.urlopen(request, timeout=10).status)
"""


def test_a_load_balancer_service_gets_an_address_from_metallb_and_serves_a_vote(release, addons):
    release.upgrade("vote.service.type=LoadBalancer")

    def address() -> str | None:
        ingress = release.core.read_namespaced_service("vote", NS).status.load_balancer.ingress
        return ingress[0].ip if ingress else None

    ip = eventually(address, 120, "MetalLB to give the vote Service an address", 1)
    subnet = docker("network", "inspect", "kind", "-f", "{{range .IPAM.Config}}{{println .Subnet}}{{end}}")
    assert any(ipaddress.ip_address(ip) in ipaddress.ip_network(s) for s in subnet.split() if ":" not in s)
    # The address is in the Service's status before it serves: MetalLB's speaker must answer ARP for
    # it and kube-proxy must have written its rules (a connection that arrives first is lost for
    # good, as its first packet went through the node untranslated). Wait for both to be seen.
    announced = f"involvedObject.kind=Service,involvedObject.name=vote,reason={METALLB_ANNOUNCED}"
    eventually(
        lambda: release.core.list_namespaced_event(NS, field_selector=announced).items,
        60,
        "MetalLB's speaker to announce the vote address",
        0.5,
    )
    nodes = release.cluster.nodes()
    eventually(
        lambda: all(f"-d {ip}/32 " in release.cluster.node_exec("iptables-save", "-t", "nat", node=n) for n in nodes),
        60,
        f"kube-proxy's rules for {ip} on every node",
        0.5,
    )
    before = scenario.settled_totals(release.result_url)
    # From a container of this run on kind's Docker network, as a machine on the same LAN: it finds
    # the address through MetalLB's ARP answers, not through a port published on this host.
    status = docker(
        "run", "--rm", "--network", "kind", "--entrypoint", "python", f"votingapp/vote:{manifests.app_version()}",
        "-c", VOTE_FROM_THE_NETWORK, f"http://{ip}:5000", uuid.uuid4().hex, json.dumps({"vote": OPTIONS[0]}),
    )  # fmt: skip
    assert status.strip() == "202"
    scenario.wait_for_totals(release.result_url, {OPTIONS[0]: before[OPTIONS[0]] + 1, "total": before["total"] + 1}, 60)


def test_a_drain_is_held_up_by_the_disruption_budget(release):
    """With every node cordoned (as `kubectl drain` does to its node) no replacement can start: the
    first vote pod may be evicted, the second may not while it is the last one serving."""
    first, second = release.wait_ready("vote", 2)
    eventually(
        lambda: release.policy.read_namespaced_pod_disruption_budget("vote", NS).status.disruptions_allowed == 1,
        60,
        "the vote PodDisruptionBudget to allow one disruption",
        0.5,
    )
    nodes = release.cluster.nodes()
    release.kubectl("cordon", *nodes)
    try:
        eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=first, namespace=NS))
        release.core.create_namespaced_pod_eviction(first, NS, eviction)
        with pytest.raises(client.ApiException) as refused:
            eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=second, namespace=NS))
            release.core.create_namespaced_pod_eviction(second, NS, eviction)
        assert refused.value.status == 429, refused.value
        assert "disruption budget" in refused.value.body
        assert second in release.ready_pods("vote")
    finally:
        release.kubectl("uncordon", *nodes)
    release.wait_ready("vote", 2)


class VotingThroughout:
    """Rounds of votes in a thread, from entry to exit (bounded in count and time); each round
    checks that every vote was acknowledged and is counted exactly once."""

    def __init__(self, release: Release):
        self.release, self.outcomes, self.failures = release, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._vote)

    def _vote(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        try:
            while not self.stop.is_set() and time.monotonic() < deadline and len(self.outcomes) < 200:
                r = self.release
                self.outcomes.append(scenario.run_voting_scenario(r.vote_url, r.result_url, 5, 2, timeout=120))
        except BaseException as exc:  # reported by the main thread
            self.failures.append(exc)

    def rounds_after(self, what: str, rounds: int, n: int = 2) -> None:
        eventually(lambda: len(self.outcomes) >= rounds + n or self.failures, 120, f"votes after {what}", 0.2)

    def __enter__(self) -> VotingThroughout:
        self.thread.start()
        eventually(lambda: self.outcomes or self.failures, 60, "a first round of votes", 0.2)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=TIMEOUT)
        assert not self.failures, f"a vote was refused or miscounted: {self.failures[0]!r}"
        assert all(o["seen"] == o["expected"] for o in self.outcomes)


@pytest.fixture(scope="module")
def second_image(release) -> str:
    """The vote image under a second tag, loaded into the cluster: a new version to move to."""
    docker("tag", f"votingapp/vote:{manifests.app_version()}", f"votingapp/vote:{SECOND_TAG}")
    release.cluster.make("kind-load-images", f"KIND_LOAD_IMAGES=votingapp/vote:{SECOND_TAG}")
    return f"votingapp/vote:{SECOND_TAG}"


def images(release: Release, app: str) -> set[str]:
    return {
        p.spec.containers[0].image
        for p in release.core.list_namespaced_pod(NS, label_selector=f"app={app}").items
        if p.metadata.deletion_timestamp is None
    }


def test_helm_upgrade_to_a_new_image_under_voting_loses_and_doubles_nothing(release, second_image):
    with VotingThroughout(release) as voting:
        rounds = len(voting.outcomes)
        release.upgrade(f"vote.image.tag={SECOND_TAG}")
        eventually(lambda: images(release, "vote") == {second_image}, TIMEOUT, "every vote pod on the new image", 1)
        voting.rounds_after("the upgrade", rounds)
    release.wait_ready("vote", 2)


def test_blue_green_promotes_and_rolls_back_without_refusing_a_vote(release, second_image):
    release.upgrade(
        "vote.autoscaling.enabled=false",
        "vote.replicas=1",
        "vote.blueGreen.enabled=true",
        f"vote.blueGreen.tags.blue={manifests.app_version()}",
        f"vote.blueGreen.tags.green={SECOND_TAG}",
    )
    blue, green = release.wait_ready("vote", 1, "blue"), release.wait_ready("vote", 1, "green")
    assert images(release, "vote") == {f"votingapp/vote:{manifests.app_version()}", second_image}
    eventually(lambda: scenario.served_by(release.vote_url, 10) == set(blue), TIMEOUT, "blue to serve", 1)
    with VotingThroughout(release) as voting:
        for color, pods in (("green", green), ("blue", blue)):  # promote, then roll back
            rounds = len(voting.outcomes)
            release.cluster.make("promote", "SERVICE=vote", f"COLOR={color}", f"K8S_NAMESPACE={NS}")
            eventually(
                lambda pods=pods: scenario.served_by(release.vote_url, 10) == set(pods),
                TIMEOUT,
                f"{color} to serve every new connection",
                1,
            )
            voting.rounds_after(f"the switch to {color}", rounds)


def test_helm_uninstall_leaves_only_the_claims(release):
    ok(release.helm("uninstall", RELEASE, "--wait"))
    assert release.apps.list_namespaced_deployment(NS).items == []
    assert release.apps.list_namespaced_stateful_set(NS).items == []
    assert [s.metadata.name for s in release.core.list_namespaced_service(NS).items] == []
    claims = {c.metadata.name for c in release.core.list_namespaced_persistent_volume_claim(NS).items}
    assert claims == {"data-db-0", "data-redis-0"}  # a StatefulSet's claims outlive it, as documented
