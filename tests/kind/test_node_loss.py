"""Draining a node, then losing one, under continuous voting, with the chart's high-availability
values on the suite's cluster of a control plane and three workers.

The release (values-production.yaml and values-ha.yaml) goes into a namespace of its own: three
Redis servers with three Sentinels, three Postgres servers under Patroni, one of each per worker,
and two or more of vote, result and worker. The worker node that runs both the Redis master and the
Postgres leader is killed (its node container stopped hard, never to return): Sentinel promotes a
replica, Patroni the synchronous standby, vote and worker follow them, and every acknowledged vote
is counted exactly once. This module runs last on the cluster, as the node does not come back.
"""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from loadgen import voters
from tests.faults import report
from tests.support import scenario
from tooling.engine import docker
from tooling.waiting import eventually
from voting_common.contract import OPTIONS

from .conftest import Cluster
from .release import Release, installed

pytestmark = [pytest.mark.kind, pytest.mark.timeout(1800)]

NS = "vote-ha"
NODE_PORTS = {"vote": 31020, "result": 31021}
MASTER = "queue"  # redis.sentinel.masterName
# What a voter may see while the master's node is gone: a 503 from vote (no master, or no replica
# confirmed the write), or no answer from a vote pod on the lost node until it leaves the Service.
CLEAR_ERRORS = {"http_503", "ConnectionError", "ReadTimeout", "ConnectTimeout"}


@pytest.fixture(scope="module")
def ha(cluster: Cluster):
    """The release as `make deploy-ha` installs it (in a namespace of its own here)."""
    with installed(Release(cluster, NS, NODE_PORTS), "values-production.yaml", "values-ha.yaml") as r:
        yield r


def db_leader(r: Release) -> str:
    """The Patroni member holding the leader lock (an annotation of the Endpoints db)."""
    return (r.core.read_namespaced_endpoints("db", NS).metadata.annotations or {}).get("leader", "")


def db_sync_standby(r: Release) -> str:
    """The member Patroni keeps as synchronous standby (the only one it may promote)."""
    return (r.core.read_namespaced_endpoints("db-sync", NS).metadata.annotations or {}).get("sync_standby") or ""


def patroni_switchover(r: Release, leader: str, candidate: str) -> None:
    """Ask Patroni (its REST API, from inside the leader's pod) to hand the lead to ``candidate``."""
    body = json.dumps({"leader": leader, "candidate": candidate})
    post = (
        "import sys, urllib.request; r = urllib.request.Request('http://127.0.0.1:8008/switchover', "
        "data=sys.argv[1].encode(), method='POST'); print(urllib.request.urlopen(r, timeout=30).read())"
    )
    r.kubectl("-n", NS, "exec", leader, "-c", "db", "--", "python3", "-c", post, body)


def redis_master(r: Release, lost: str | None = None) -> str:
    """The pod whose server the Sentinels name as the master, asked of a member not on node ``lost``."""
    for pod in r.ready_pods("redis"):
        if lost and node_of(r, pod) == lost:
            continue
        cmd = ["-n", NS, "exec", pod, "-c", "sentinel", "--", "redis-cli", "-p", "26379", "--raw", "sentinel"]
        done = r.cluster.kubectl(*cmd, "get-master-addr-by-name", MASTER)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.split()[0].split(".")[0]
    raise AssertionError("no Sentinel answered")


def not_live_while(r: Release, running) -> list[float]:
    """When the results page did not answer `ok` (sampled twice a second while ``running()``)."""
    misses = []
    while running():
        sampled = time.monotonic()
        try:
            live = requests.get(f"{r.result_url}/api/results", timeout=2).json().get("state") == "ok"
        except (requests.RequestException, ValueError):
            live = False
        if not live:
            misses.append(sampled)
        time.sleep(max(0.0, sampled + 0.5 - time.monotonic()))
    return misses


def node_of(r: Release, pod: str) -> str:
    return r.core.read_namespaced_pod(pod, NS).spec.node_name


def record(scenario: str, fault: str, outcome: voters.Outcome, seen: dict, expected: dict, **seconds) -> None:
    """The scenario's row in docs/reliability.md (``make reliability``)."""
    off = {k: seen[k] - expected[k] for k in OPTIONS}
    report.record({
        "table": "node", "scenario": scenario, "fault": fault, "voters": len(outcome.final),
        "requests": outcome.requests, "failed_requests": dict(outcome.errors), "acknowledged": outcome.acknowledged,
        "lost": sum(-d for d in off.values() if d < 0), "double_counted": sum(d for d in off.values() if d > 0),
        **{f"{k}_seconds": None if v is None else round(v, 2) for k, v in seconds.items()},
    })  # fmt: skip


def voting(pool: ThreadPoolExecutor, r: Release, voters_n: int, first: int, before: str):
    """``voters_n`` voters (a fifth change their mind) at 25 votes/s, run in ``pool``; returns the
    run and the times of its acknowledgements once ``first`` votes are acknowledged."""
    acks: list[float] = []
    plan = voters.VotePlan(voters=voters_n, change_share=0.2, seed=secrets.randbits(30))
    load = pool.submit(
        voters.run, r.vote_url, plan, concurrency=4, rate=25, deadline_s=400,
        on_vote=lambda: acks.append(time.monotonic()),
    )  # fmt: skip
    eventually(lambda: len(acks) >= first or load.done(), 60, f"votes before {before}", 0.2)
    assert not load.done(), f"the votes ran out before {before}"
    return load, acks


def test_draining_a_node_under_voting_refuses_no_vote_and_loses_none(ha, cluster):
    """`kubectl drain` of the worker node that runs neither the Redis master nor db (a Redis replica,
    and some of vote, result and worker): the PDBs hold, no request fails, every vote counts once.
    The node is made schedulable again afterwards, and its replicas return to it (their claims are there)."""
    ha.wait_ready("redis", 3)
    ha.wait_ready("db", 3)
    busy = {node_of(ha, db_leader(ha)), node_of(ha, redis_master(ha)), cluster.node}
    node = next(n for n in cluster.nodes() if n not in busy)
    before = scenario.settled_totals(ha.result_url)
    with ThreadPoolExecutor(1) as pool:
        load, _acks = voting(pool, ha, 1000, 100, "the drain")
        try:
            drained = time.monotonic()
            ha.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=240s")
            drain_s = time.monotonic() - drained
            assert not load.done(), "the votes ran out during the drain"
            outcome = load.result(timeout=300)
            ended = time.monotonic()
        finally:
            ha.kubectl("uncordon", node)
    print(f"\nnode {node} drained in {drain_s:.1f} s under voting; {outcome.summary()}")
    assert not outcome.errors, outcome.summary()
    assert outcome.gave_up == 0, outcome.summary()
    expected = {k: before[k] + v for k, v in outcome.acknowledged_totals().items()}
    seen, _waited = scenario.wait_for_totals(ha.result_url, expected, 120)
    record(
        "draining a node", "`kubectl drain` of the worker node with neither the Redis master nor the Postgres leader",
        outcome, seen, expected, redis_master=None, db_leader=None, votes_accepted=None, results_live=None,
        correct=time.monotonic() - ended,
    )  # fmt: skip
    ha.wait_ready("redis", 3)
    ha.wait_ready("db", 3)


def leaders_on_one_node(r: Release, cluster) -> str:
    """Moves the Redis master and the Postgres leader onto one worker node and returns it. Patroni
    hands the lead only to its synchronous standby, Sentinel to a replica of its choosing, so each
    is asked in turn until they meet."""
    for _ in range(6):
        master, leader = redis_master(r), db_leader(r)
        node = node_of(r, master)
        if node_of(r, leader) == node:
            assert node != cluster.node
            return node
        standby = db_sync_standby(r)
        if standby and node_of(r, standby) == node:
            patroni_switchover(r, leader, standby)
            eventually(lambda s=standby: db_leader(r) == s, 60, "the requested switchover", 1)
            eventually(lambda s=standby: db_sync_standby(r) not in ("", s), 60, "a new synchronous standby", 1)
        else:
            r.kubectl("-n", NS, "exec", master, "-c", "sentinel", "--", "redis-cli", "-p", "26379",
                      "sentinel", "failover", MASTER)  # fmt: skip
            eventually(lambda old=master: redis_master(r) != old, 60, "the requested failover", 1)
    raise AssertionError("the Redis master and the Postgres leader never met on one node")


def test_losing_the_node_of_the_redis_master_and_the_postgres_leader_loses_and_doubles_no_vote(ha, cluster):
    ha.wait_ready("redis", 3)
    ha.wait_ready("db", 3)
    victim = leaders_on_one_node(ha, cluster)
    master, leader = redis_master(ha), db_leader(ha)

    before = scenario.settled_totals(ha.result_url)
    with ThreadPoolExecutor(2) as pool:
        load, acks = voting(pool, ha, 1500, 200, "the loss")
        results = pool.submit(not_live_while, ha, lambda: not load.done())
        killed = time.monotonic()
        docker("kill", victim)
        try:
            eventually(lambda: redis_master(ha, victim) != master, 120, "Sentinel to promote a replica", 0.5)
            promoted_s = time.monotonic() - killed
            eventually(lambda: db_leader(ha) not in ("", leader), 120, "Patroni to promote the standby", 0.5)
            led_s = time.monotonic() - killed
            outcome = load.result(timeout=500)
        finally:
            # The node never returns: its Node goes too, so that its pods are deleted and the
            # release and namespaces can be removed.
            ha.kubectl("delete", "node", victim, "--wait=false")
    ended, not_live = time.monotonic(), results.result()
    after = [t for t in acks if t >= killed]
    gap = max((b - a for a, b in zip([killed, *after], after, strict=False)), default=0.0)
    print(
        f"\nnode {victim} lost: Sentinel promoted a replica {promoted_s:.1f} s later, Patroni a new leader "
        f"({db_leader(ha)}) {led_s:.1f} s later; the longest time with no vote accepted {gap:.1f} s; "
        f"failed requests {sum(outcome.errors.values())} ({dict(outcome.errors)}); results not live in "
        f"{len(not_live)} samples, the last {(max(not_live) - killed) if not_live else 0:.1f} s after the "
        f"loss; {outcome.summary()}"
    )
    expected = {k: before[k] + v for k, v in outcome.acknowledged_totals().items()}
    seen, _waited = scenario.wait_for_totals(ha.result_url, expected, 180)
    print(f"counted exactly {time.monotonic() - ended:.1f} s after the last vote")
    record(
        "losing a node", "the worker node of the Redis master and the Postgres leader killed (its container, for good)",
        outcome, seen, expected, redis_master=promoted_s, db_leader=led_s, votes_accepted=gap,
        results_live=(max(not_live) - killed) if not_live else None, correct=time.monotonic() - ended,
    )  # fmt: skip
    assert outcome.gave_up == 0, outcome.summary()
    assert set(outcome.errors) <= CLEAR_ERRORS, outcome.summary()
