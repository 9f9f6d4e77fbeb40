"""The worker killed with SIGKILL mid-stream: restarted, or taken over by another replica."""

import time

import pytest

from tests.faults.harness import FaultStack, VoteTraffic, fault_at, inspect, measure, plan
from tooling import metrics
from tooling.engine import docker
from voting_common.contract import GROUP, STREAM

pytestmark = pytest.mark.faults


def freeze_holding_votes(stack: FaultStack, container: str) -> int:
    """Freeze the worker so that it holds votes it has not acknowledged; returns how many.

    Frozen in the middle of a batch, it holds that batch. Frozen anywhere else it holds none: then
    the next votes of the stream are read under its consumer name, exactly as its own blocked
    XREADGROUP would have received them had the freeze caught it there. Either way the kill that
    follows kills it with votes in flight, whatever the timing of the freeze.
    """
    consumer = inspect(container, "{{.Config.Hostname}}")
    try:
        docker("pause", container)
    except AssertionError as exc:  # the freezer can time out on a busy machine; the kill follows at once
        print(f"could not freeze the worker: {exc}")
    held = stack.pending_by_consumer().get(consumer, 0)
    if held == 0:
        stack.redis_cli("XREADGROUP", "GROUP", GROUP, consumer, "COUNT", "20", "BLOCK", "5000", "STREAMS", STREAM, ">")
        held = stack.pending_by_consumer().get(consumer, 0)
    return held


def test_worker_sigkilled_five_times_mid_stream_and_restarted(stack):
    held: list[int] = []

    def inject(stream: VoteTraffic) -> None:
        [container] = stack.container_ids("worker")
        for i in range(5):
            stream.wait_progress((i + 1) / 7)
            # Every other kill first freezes the worker holding votes; the others hit it anywhere.
            held.append(freeze_holding_votes(stack, container) if i % 2 else -1)
            stack.compose("kill", "-s", "SIGKILL", "worker")
            time.sleep(0.5)
            stack.compose("start", "worker")
        stream.recovered()  # timed from the last restart

    _, outcome, _ = measure(
        stack,
        "worker SIGKILL x5",
        "worker killed with SIGKILL 5 times during the stream, restarted each time (same consumer name)",
        plan(1500, 0xFA010001, share_a=0.55),
        inject,
        # ~30 s of votes: five freeze/kill/restart cycles take up to ~5 s each on a busy machine,
        # and every kill must land while the stream is still running.
        rate=65,
        notes=lambda: f"votes in flight at the 2nd and 4th kills (worker frozen first): {[n for n in held if n >= 0]}",
    )
    assert len(held) == 5
    assert sum(n for n in held if n >= 0) > 0, "no kill caught the worker with votes in flight"
    assert not outcome.errors, f"voting must not notice the worker dying: {outcome.errors}"


def test_two_worker_replicas_one_killed_the_other_takes_over(stack):
    stack.compose("up", "-d", "--no-build", "--scale", "worker=2", "--no-recreate", "--wait", "worker")
    names = {inspect(c, "{{.Name}}").rsplit("-", 1)[1]: c for c in stack.container_ids("worker")}
    assert sorted(names) == ["1", "2"], names
    victim = names["2"]  # the survivor is replica 1, the one `exec` reaches by default
    victim_name = inspect(victim, "{{.Config.Hostname}}")
    held: list[int] = []
    reclaimed_before = metrics.total(stack.worker_metrics(), "worker_votes_reclaimed_total")
    reclaimed: list[float] = []

    def notes() -> str:
        reclaimed.append(metrics.total(stack.worker_metrics(), "worker_votes_reclaimed_total") - reclaimed_before)
        return f"votes in flight in the killed replica: {held[0]}; taken over by the other: {reclaimed[0]:.0f}"

    def kill_for_good() -> None:  # the survivor must take its votes; recovery is timed from the kill
        held.append(freeze_holding_votes(stack, victim))
        docker("kill", "-s", "KILL", victim)

    try:
        _, outcome, _ = measure(
            stack,
            "2 workers, one SIGKILLed",
            "two worker replicas; one frozen with votes in flight, then SIGKILLed and never restarted",
            plan(1200, 0xFA010002, share_a=0.45),
            fault_at(0.3, kill_for_good),
            notes=notes,
        )
        assert held[0] > 0, "the killed replica held no votes"
        assert reclaimed[0] >= held[0], f"the survivor took over {reclaimed[0]} votes, the victim held {held[0]}"
        assert stack.pending_by_consumer().get(victim_name, 0) == 0
        assert "took over stale votes" in stack.service_logs("worker")
        assert not outcome.errors
    finally:
        docker("rm", "-f", victim)
        stack.compose("up", "-d", "--no-build", "--scale", "worker=1", "--no-recreate", "--wait", "worker")
