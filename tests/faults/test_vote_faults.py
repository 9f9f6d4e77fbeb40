"""The vote container SIGKILLed while a shared write (several votes in one pipeline) is in flight."""

import pytest

from loadgen.voters import VotePlan
from tests.faults.harness import CLEAR_ERRORS, CUT_SHORT, FaultStack, VoteTraffic, measure
from tooling.waiting import eventually

pytestmark = pytest.mark.faults


def shared_write_held(stack: FaultStack) -> bool:
    """Redis holds a client's vote write (an EVAL of the XADD) with more of the same pipeline
    queued behind it."""
    for line in stack.redis_cli("CLIENT", "LIST").splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if "b" in fields.get("flags", "") and fields.get("cmd") == "eval" and int(fields.get("qbuf", 0)) > 0:
            return True
    return False


def test_vote_killed_mid_shared_write_loses_and_double_counts_nothing(stack):
    kill_mid_shared_write(stack, seed=0xFA020007)


def kill_mid_shared_write(stack: FaultStack, seed: int) -> None:
    """The scenario with the voters of ``seed`` (a new seed: new voters, so it can run again)."""
    held: dict[str, int] = {}

    def inject(stream: VoteTraffic) -> None:
        stream.wait_progress(0.3)
        assert stream.running, "the stream ended before the fault"
        # Redis postpones every write: the next shared write stays in flight until the kill.
        stack.redis_cli("CLIENT", "PAUSE", "60000", "WRITE")
        try:
            eventually(lambda: shared_write_held(stack), 30, "a shared write held by Redis", 0.05)
            held["acked"] = stream.acked
            stack.compose("kill", "-s", "SIGKILL", "vote")
            held["acked_after_kill"] = stream.acked
        finally:
            stack.redis_cli("CLIENT", "UNPAUSE")
        stack.compose("start", "vote")
        stream.recovered()

    result, outcome, _canary = measure(
        stack,
        "vote SIGKILL mid shared write",
        "the vote container killed with SIGKILL while Redis held one of its shared writes, started again",
        VotePlan(voters=900, share_a=0.5, change_share=0.3, seed=seed),
        inject,
    )
    result.check()  # every acknowledged vote counted exactly once
    # Nothing can be acknowledged while Redis holds every write: the votes in flight got no 2xx.
    assert held["acked_after_kill"] == held["acked"]
    assert set(outcome.errors) <= CLEAR_ERRORS | {CUT_SHORT}, outcome.errors
    # The kill was felt: requests in flight lost their connection or found nobody listening.
    assert outcome.errors["ConnectionError"] + outcome.errors[CUT_SHORT] > 0, outcome.errors
