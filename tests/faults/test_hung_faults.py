"""Dependencies that hang rather than fail: a frozen Postgres, a frozen Redis (docker pause: the
kernel still accepts connections and acknowledges packets, nothing answers), and the worker cut off
the network (no reset, no answer). Each ends with the exact totals and its time to recover."""

import pytest
import requests

from tests.faults.harness import CLEAR_ERRORS, FaultStack, VoteTraffic, fault_at, inspect, measure, plan
from tooling.engine import docker
from tooling.waiting import eventually

pytestmark = pytest.mark.faults


def measure_frozen(stack: FaultStack, service: str, scenario: str, fault: str, seed: int, during, **kwargs):
    """Freeze ``service`` at 30% of the stream, check ``during`` meanwhile, unfreeze, measure."""
    [container] = stack.container_ids(service)
    try:
        return measure(
            stack,
            scenario,
            fault,
            plan(1500, seed),
            fault_at(0.3, lambda: docker("pause", container), lambda: docker("unpause", container), during),
            rate=80,
            **kwargs,
        )
    finally:  # its health checks failed while frozen: the next scenario must find it healthy again
        eventually(lambda: inspect(container, "{{.State.Health.Status}}") == "healthy", 120, f"{service} healthy", 0.5)


def test_a_frozen_postgres_is_shown_as_not_live_and_loses_and_double_counts_nothing(stack):
    seen: dict = {}

    def during(stream: VoteTraffic) -> None:
        # The results say they are not live, with the last numbers and when they were read.
        status, body = eventually(
            lambda: (r := stack.results())[0] == 503 and r[1].get("state") == "stale" and r, 15, "results stale", 0.1
        )
        seen.update(body)
        eventually(lambda: "postgres" in stack.worker_ready().get("reason", ""), 30, "worker not ready", 0.2)
        # Voting goes on: the vote service does not depend on Postgres.
        before = stream.acked
        eventually(lambda: stream.acked > before + 50, 30, "votes acknowledged while Postgres hangs", 0.1)

    _, outcome, _ = measure_frozen(
        stack,
        "db",
        "postgres frozen",
        "Postgres frozen (docker pause) until results said stale and the worker not ready, then resumed",
        0xFA040001,
        during,
        notes=lambda: f"results said stale (503) as of {seen.get('as_of', '?')[11:19]} while frozen; worker not ready",
    )
    assert seen["options"] is not None and seen["as_of"]
    assert not outcome.errors, "voting must not depend on Postgres"


def test_a_frozen_redis_pauses_voting_with_clear_errors_and_loses_nothing(stack):
    def during(stream: VoteTraffic) -> None:
        eventually(lambda: "redis" in stack.worker_ready().get("reason", ""), 30, "worker not ready", 0.2)
        # The vote page is still served (the process is fine), and says voting is paused on a vote.
        assert requests.get(stack.vote_url + "/readyz?exclude=redis", timeout=5).status_code == 200

    _, outcome, _ = measure_frozen(
        stack,
        "redis",
        "redis frozen",
        "Redis frozen (docker pause) until the worker reports it not ready, then resumed",
        0xFA040002,
        during,
        canary=True,
    )
    assert set(outcome.errors) <= CLEAR_ERRORS, outcome.errors
    assert outcome.errors["http_503"] > 0, "the freeze was not felt"


def test_the_worker_cut_off_the_network_loses_and_double_counts_nothing(stack):
    [worker] = stack.container_ids("worker")
    cut, reconnect = stack.cut_off(worker)
    _, outcome, _ = measure(
        stack,
        "worker cut off",
        "the worker's network disconnected (no reset) until it reports itself not ready, then reconnected",
        plan(1500, 0xFA040003),
        fault_at(
            0.3,
            cut,
            reconnect,
            lambda stream: eventually(
                lambda: stack.worker_ready().get("status") == "unavailable", 30, "worker not ready", 0.2
            ),
        ),
        rate=80,
    )
    assert not outcome.errors, "voting must not notice the worker's network"
