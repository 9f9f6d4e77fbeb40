"""Draining a node, then losing one, under continuous voting, with the chart's high-availability
values on the suite's cluster of a control plane and three workers.

The release (values-production.yaml and values-ha.yaml) goes into a namespace of its own: three
Redis servers and three Sentinels, one of each per worker, two or more of vote, result and worker.
The worker node that runs the Redis master is killed (its node container stopped hard, never to
return): Sentinel promotes a replica, vote and worker follow it, and every acknowledged vote is
counted exactly once. This module runs last on the cluster, as the node does not come back.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from loadgen import voters
from tests.support import scenario
from tests.support.engine import docker
from tooling.waiting import eventually

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
    with installed(Release(cluster, NS, NODE_PORTS), "values-production.yaml", "values-ha.yaml") as r:
        yield r


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
    The node is made schedulable again afterwards, and its replica returns to it (its claim is there)."""
    ha.wait_ready("redis", 3)
    busy = {node_of(ha, "db-0"), node_of(ha, redis_master(ha)), cluster.node}
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
        finally:
            ha.kubectl("uncordon", node)
    print(f"\nnode {node} drained in {drain_s:.1f} s under voting; {outcome.summary()}")
    assert not outcome.errors, outcome.summary()
    assert outcome.gave_up == 0, outcome.summary()
    expected = {k: before[k] + v for k, v in outcome.acknowledged_totals().items()}
    scenario.wait_for_totals(ha.result_url, expected, 120)
    ha.wait_ready("redis", 3)


def test_losing_the_node_of_the_redis_master_loses_and_doubles_no_acknowledged_vote(ha, cluster):
    ha.wait_ready("redis", 3)
    # Postgres is still a single server: losing its node would stop counting whatever Redis does, so
    # the master is moved off that node first (a failover Sentinel carries out on request).
    db_node = node_of(ha, "db-0")
    master = redis_master(ha)
    for _ in range(3):
        if node_of(ha, master) != db_node:
            break
        ha.kubectl("-n", NS, "exec", f"{master}", "-c", "sentinel", "--", "redis-cli", "-p", "26379",
                   "sentinel", "failover", MASTER)  # fmt: skip
        eventually(lambda old=master: redis_master(ha) != old, 60, "the requested failover", 1)
        master = redis_master(ha)
    victim = node_of(ha, master)
    assert victim not in (db_node, cluster.node), (victim, db_node)

    before = scenario.settled_totals(ha.result_url)
    with ThreadPoolExecutor(2) as pool:
        load, acks = voting(pool, ha, 1500, 200, "the loss")
        results = pool.submit(not_live_while, ha, lambda: not load.done())
        killed = time.monotonic()
        docker("kill", victim)
        try:
            eventually(lambda: redis_master(ha, victim) != master, 120, "Sentinel to promote a replica", 0.5)
            promoted_s = time.monotonic() - killed
            outcome = load.result(timeout=500)
        finally:
            # The node never returns: its Node goes too, so that its pods are deleted and the
            # release and namespaces can be removed.
            ha.kubectl("delete", "node", victim, "--wait=false")
    ended, not_live = time.monotonic(), results.result()
    after = [t for t in acks if t >= killed]
    gap = max((b - a for a, b in zip([killed, *after], after, strict=False)), default=0.0)
    print(
        f"\nnode {victim} lost: Sentinel promoted a replica {promoted_s:.1f} s later; the longest time with "
        f"no vote accepted {gap:.1f} s; failed requests {sum(outcome.errors.values())} "
        f"({dict(outcome.errors)}); results not live in {len(not_live)} samples, the last "
        f"{(max(not_live) - killed) if not_live else 0:.1f} s after the loss; {outcome.summary()}"
    )
    expected = {k: before[k] + v for k, v in outcome.acknowledged_totals().items()}
    _seen, _waited = scenario.wait_for_totals(ha.result_url, expected, 180)
    print(f"counted exactly {time.monotonic() - ended:.1f} s after the last vote")
    assert outcome.gave_up == 0, outcome.summary()
    assert set(outcome.errors) <= CLEAR_ERRORS, outcome.summary()
