"""Dependencies that hang rather than fail: a frozen Postgres, a frozen Redis (docker pause: the
kernel still accepts connections and acknowledges packets, nothing answers), and the worker cut off
the network (no reset, no answer). Each ends with the exact totals and its time to recover."""

import json

import pytest
import requests

from loadgen.voters import VotePlan
from tests.faults.harness import CLEAR_ERRORS, FaultStack, VoteTraffic, measure
from tests.support.engine import docker
from tooling.waiting import eventually

pytestmark = pytest.mark.faults


def results(stack: FaultStack) -> tuple[int, dict]:
    response = requests.get(stack.result_url + "/api/results", timeout=5)
    return response.status_code, response.json()


def worker_ready(stack: FaultStack) -> dict:
    code = (
        "import urllib.request, urllib.error\n"
        "try: print(urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=3).read().decode())\n"
        "except urllib.error.HTTPError as e: print(e.read().decode())"
    )
    return json.loads(stack.compose("exec", "-T", "worker", "python", "-c", code, timeout=30).stdout)


def frozen(stack: FaultStack, service: str, during) -> object:
    """An ``inject``: freeze ``service`` at 30% of the stream, check ``during`` meanwhile, unfreeze."""

    def inject(stream: VoteTraffic) -> None:
        stream.wait_progress(0.3)
        assert stream.running, "the stream ended before the fault"
        [container] = stack.container_ids(service)
        docker("pause", container)
        try:
            during(stream)
        finally:
            docker("unpause", container)
        stream.recovered()
        # Its health checks failed while frozen: the next scenario must find it healthy again.
        eventually(
            lambda: docker("inspect", "-f", "{{.State.Health.Status}}", container).strip() == "healthy",
            120,
            f"{service} healthy again",
            0.5,
        )

    return inject


def test_a_frozen_postgres_is_shown_as_not_live_and_loses_and_double_counts_nothing(stack):
    seen: dict = {}

    def during(stream: VoteTraffic) -> None:
        # The results say they are not live, with the last numbers and when they were read.
        status, body = eventually(
            lambda: (r := results(stack))[0] == 503 and r[1].get("state") == "stale" and r, 15, "results stale", 0.1
        )
        seen.update(body)
        eventually(lambda: "postgres" in worker_ready(stack).get("reason", ""), 30, "worker not ready", 0.2)
        # Voting goes on: the vote service does not depend on Postgres.
        before = stream.acked
        eventually(lambda: stream.acked > before + 50, 30, "votes acknowledged while Postgres hangs", 0.1)

    result, outcome, _ = measure(
        stack,
        "postgres frozen",
        "Postgres frozen (docker pause) until results said stale and the worker not ready, then resumed",
        VotePlan(voters=1500, share_a=0.5, change_share=0.3, seed=0xFA040001),
        frozen(stack, "db", during),
        rate=80,
        notes=lambda: f"results said stale (503) as of {seen.get('as_of', '?')[11:19]} while frozen; worker not ready",
    )
    result.check()
    assert seen["options"] is not None and seen["as_of"]
    assert not outcome.errors, "voting must not depend on Postgres"


def test_a_frozen_redis_pauses_voting_with_clear_errors_and_loses_nothing(stack):
    def during(stream: VoteTraffic) -> None:
        eventually(lambda: "redis" in worker_ready(stack).get("reason", ""), 30, "worker not ready", 0.2)
        # The vote page is still served (the process is fine), and says voting is paused on a vote.
        assert requests.get(stack.vote_url + "/readyz?exclude=redis", timeout=5).status_code == 200

    result, outcome, _ = measure(
        stack,
        "redis frozen",
        "Redis frozen (docker pause) until the worker reports it not ready, then resumed",
        VotePlan(voters=1500, share_a=0.5, change_share=0.3, seed=0xFA040002),
        frozen(stack, "redis", during),
        rate=80,
        canary=True,
    )
    result.check()
    assert set(outcome.errors) <= CLEAR_ERRORS, outcome.errors
    assert outcome.errors["http_503"] > 0, "the freeze was not felt"


def test_the_worker_cut_off_the_network_loses_and_double_counts_nothing(stack):
    [worker] = stack.container_ids("worker")
    network = f"{stack.project}_default"

    def inject(stream: VoteTraffic) -> None:
        stream.wait_progress(0.3)
        assert stream.running, "the stream ended before the fault"
        docker("network", "disconnect", network, worker)
        try:
            eventually(lambda: worker_ready(stack).get("status") == "unavailable", 30, "worker not ready", 0.2)
        finally:
            docker("network", "connect", network, worker)
        stream.recovered()

    result, outcome, _ = measure(
        stack,
        "worker cut off",
        "the worker's network disconnected (no reset) until it reports itself not ready, then reconnected",
        VotePlan(voters=1500, share_a=0.5, change_share=0.3, seed=0xFA040003),
        inject,
        rate=80,
    )
    result.check()
    assert not outcome.errors, "voting must not notice the worker's network"
