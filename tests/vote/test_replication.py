"""Against a real master, replica and Sentinel: with REDIS_WAIT_REPLICAS a vote is acknowledged
only once a replica has it, and vote and worker find the master through Sentinel, the new one too
after Sentinel promoted the replica."""

from __future__ import annotations

import shlex
import socket
import threading

import pytest
import redis

from tests.conftest import REDIS_COMMAND, REDIS_IMAGE, REDIS_PASSWORD, frozen
from tests.support.env import settings_from
from tooling.waiting import eventually
from vote_app import create_app
from vote_app.settings import VoteSettings
from vote_app.voting import UNAVAILABLE
from voting_common.connections import redis_client
from voting_common.contract import STREAM
from worker_app.settings import WorkerSettings

pytestmark = pytest.mark.integration

MASTER = "queue"
SENTINEL_CONF = f"""port 26379
requirepass {REDIS_PASSWORD}
sentinel resolve-hostnames yes
sentinel monitor {MASTER} master 6379 1
sentinel auth-pass {MASTER} {REDIS_PASSWORD}
sentinel down-after-milliseconds {MASTER} 2000
"""


def redis_in(network, alias: str, command: str):
    from testcontainers.core.container import DockerContainer

    return DockerContainer(REDIS_IMAGE).with_network(network).with_network_aliases(alias).with_command(command)


@pytest.fixture(scope="module")
def group(docker_engine):
    """A master, one replica and a Sentinel on a network of their own; yields the Sentinel's address
    as the services would be given it, and the containers."""
    from testcontainers.core.network import Network

    server = f"{REDIS_COMMAND} --masterauth {REDIS_PASSWORD}"  # any of them may become a replica
    # Sentinel rewrites its config file as it learns: a writable copy.
    conf = "/tmp/sentinel.conf"
    sentinel = f"printf %s {shlex.quote(SENTINEL_CONF)} > {conf} && exec redis-server {conf} --sentinel"
    with (
        Network() as network,
        redis_in(network, "master", server) as master,
        redis_in(network, "replica", f"{server} --replicaof master 6379") as replica,
        redis_in(network, "sentinel", "").with_kwargs(entrypoint=["sh", "-c", sentinel]) as sentinel_c,
    ):
        sentinel_c.get_wrapped_container().reload()
        ip = sentinel_c.get_wrapped_container().attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        yield {"sentinel": (ip, 26379), "master": master, "replica": replica, "network": network, "server": server}


def in_sync(master: redis.Redis, replicas: int = 1) -> None:
    def online() -> int:
        info = master.info("replication")
        return sum(info.get(f"slave{i}", {}).get("state") == "online" for i in range(info["connected_slaves"]))

    eventually(lambda: online() >= replicas, 30, f"{replicas} replica(s) in sync", 0.2)


def through_sentinel(group, cls=VoteSettings, **overrides):
    """A service's settings that find the master through the group's Sentinel."""
    host, port = group["sentinel"]
    return settings_from({"REDIS_SENTINELS": f"{host}:{port}", "REDIS_PASSWORD": REDIS_PASSWORD}, cls, **overrides)


def test_a_vote_is_acknowledged_only_once_a_replica_has_it(group):
    settings = through_sentinel(group, redis_wait_replicas=1)
    queue = redis_client(settings)
    in_sync(queue)
    app = create_app({"TESTING": True, "SETTINGS": settings})
    before = queue.xlen(STREAM)
    response = app.test_client().post("/api/vote", json={"vote": "a"})
    assert response.status_code == 202, response.get_json()
    assert queue.xlen(STREAM) == before + 1
    with frozen(group["replica"]):
        refused = app.test_client().post("/api/vote", json={"vote": "b"})
    assert refused.status_code == 503
    assert refused.get_json()["error"] == UNAVAILABLE


def test_a_batch_waits_for_every_replica_even_when_one_joined_since_the_last(group):
    """A process's first write waits for the one replica it knows of (``REDIS_WAIT_REPLICAS``); the
    master has two, and the second is frozen: the batch is written again, waiting for both, and is
    acknowledged once the second, let go meanwhile, has it too."""
    settings = through_sentinel(group, redis_wait_replicas=1, redis_wait_timeout_ms=10000)
    with redis_in(group["network"], "replica2", f"{group['server']} --replicaof master 6379") as second:
        queue = redis_client(settings)
        in_sync(queue, replicas=2)
        app = create_app({"TESTING": True, "SETTINGS": settings})
        client = app.extensions["redis"]
        sent: list[int] = []
        pipeline = client.pipeline

        def counted(*args, **kwargs):
            sent.append(1)
            if len(sent) == 2:  # the batch again: the second replica may catch up now
                second.get_wrapped_container().unpause()
            return pipeline(*args, **kwargs)

        client.pipeline = counted
        before = queue.xlen(STREAM)
        second.get_wrapped_container().pause()
        try:
            response = app.test_client().post("/api/vote", json={"vote": "a"})
        finally:
            if len(sent) < 2:
                second.get_wrapped_container().unpause()
        assert response.status_code == 202, response.get_json()
        assert len(sent) == 2 and queue.xlen(STREAM) == before + 2  # the same vote, written twice


def test_vote_and_worker_follow_the_master_sentinel_promotes(group):
    """Until the old master is told it is a replica it still takes writes, which it then drops:
    WAIT refuses those votes (the old master has no replica left), and the client sends them again."""
    vote = through_sentinel(group, redis_wait_replicas=1)
    worker = through_sentinel(group, WorkerSettings, redis_wait_replicas=1)
    app = create_app({"TESTING": True, "SETTINGS": vote})
    old = app.extensions["redis"].info("server")["run_id"]
    in_sync(redis_client(vote))
    host, port = group["sentinel"]
    redis.Redis(host, port, password=REDIS_PASSWORD).execute_command("SENTINEL", "FAILOVER", MASTER)
    eventually(lambda: redis_client(vote).info("server")["run_id"] != old, 60, "Sentinel to promote the replica", 0.5)
    acknowledged: list[str] = []

    def vote_once() -> bool:
        response = app.test_client().post("/api/vote", json={"vote": "b"})
        assert response.status_code in (202, 503), response.get_json()
        if response.status_code == 202:
            acknowledged.append(response.get_json()["id"])
        return len(acknowledged) >= 5

    eventually(vote_once, 60, "votes acknowledged after the failover", 0.1)
    new = redis_client(vote)
    in_sync(new)  # the old master, now its replica
    assert new.info("server")["run_id"] != old
    assert [i for i in acknowledged if not new.xrange(STREAM, min=i, max=i)] == [], "acknowledged votes lost"
    assert redis_client(worker).info("server")["run_id"] == new.info("server")["run_id"]


def test_a_sentinel_that_does_not_answer_is_asked_once_per_lookup(group):
    """A Sentinel whose node is gone costs one timeout before the next one is asked, not the client's
    default ten retries: that would hold every new connection, and the votes waiting on it, for
    longer than a client waits for its answer."""
    accepted: list[socket.socket] = []
    with socket.create_server(("127.0.0.1", 0)) as silent:  # takes connections, never answers

        def take() -> None:
            while True:
                try:
                    accepted.append(silent.accept()[0])
                except OSError:
                    return  # closed

        threading.Thread(target=take, daemon=True).start()
        host, port = group["sentinel"]
        sentinels = f"127.0.0.1:{silent.getsockname()[1]},{host}:{port}"
        queue = redis_client(through_sentinel(group, redis_sentinels=sentinels, redis_timeout=0.3))
        try:
            assert queue.ping()
            assert len(accepted) == 1
        finally:
            for s in accepted:
                s.close()


def test_a_reply_that_came_too_late_is_never_read_as_the_next_commands(group):
    """A command through Sentinel times out while the master is paused; the master answers it
    later. The connection it used is closed, so the next command gets its own reply."""
    queue = redis_client(through_sentinel(group, redis_timeout=0.3))
    admin = redis_client(through_sentinel(group))
    assert queue.echo("warm") == "warm"  # one pooled connection, to the master
    admin.execute_command("CLIENT", "PAUSE", "1000", "ALL")
    with pytest.raises(redis.TimeoutError):
        queue.echo("first")
    eventually(lambda: admin.echo("after") == "after", 10, "the pause to end", 0.1)
    assert queue.echo("second") == "second"
