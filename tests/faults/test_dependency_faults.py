"""Redis, Postgres and the vote container restarted (or killed) in the middle of a stream of votes."""

import time

import pytest

from tests.faults.harness import CLEAR_ERRORS, CUT_SHORT, FaultStack, VoteTraffic, fault_at, measure, plan
from tooling.waiting import eventually

pytestmark = pytest.mark.faults

STOP, KILL = ("stop", "-t", "10"), ("kill", "-s", "SIGKILL")  # graceful (SIGTERM, then wait), or not
SCENARIOS = {
    # name: (service, how it goes down, seed, fault description)
    "redis restart": ("redis", STOP, 0xFA020001, "Redis stopped gracefully (SIGTERM) for 1.5 s, then started"),
    "redis SIGKILL": ("redis", KILL, 0xFA020002, "Redis killed with SIGKILL, started again 1.5 s later"),
    "postgres restart": ("db", STOP, 0xFA020003, "Postgres stopped gracefully for 1.5 s, then started"),
    "postgres SIGKILL": ("db", KILL, 0xFA020006, "Postgres killed with SIGKILL, started 1.5 s later"),
    "vote restart": ("vote", STOP, 0xFA020004, "the vote container stopped gracefully, started 1.5 s later"),
    "vote SIGKILL": ("vote", KILL, 0xFA020005, "the vote container killed with SIGKILL, started 1.5 s later"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_dependency_down_mid_stream_loses_and_double_counts_nothing(stack, scenario):
    service, down, seed, fault = SCENARIOS[scenario]
    _, outcome, canary = measure(
        stack,
        scenario,
        fault,
        plan(900, seed),
        fault_at(
            0.3,
            lambda: stack.compose(*down, service),
            lambda: stack.compose("start", service),
            during=lambda stream: time.sleep(1.5),
        ),
        canary=True,
    )
    # A vote that failed got a clear answer: 503 with a message, or no connection at all.
    # (The canary voter also checks that every 503 carried a message.)
    allowed = CLEAR_ERRORS | ({CUT_SHORT} if down == KILL and service == "vote" else set())
    assert canary is not None
    assert set(outcome.errors) | set(canary.failures) <= allowed, (outcome.errors, canary.failures)
    if service == "vote":
        # The fault was felt: requests found nobody listening meanwhile.
        assert outcome.errors["ConnectionError"] + canary.failures["ConnectionError"] > 0
    if service == "db":
        assert not outcome.errors, "voting must not depend on Postgres"


def shared_write_held(stack: FaultStack) -> bool:
    """Redis holds a client's vote write (an EVAL of the XADD) with more of the same pipeline queued behind it."""
    for line in stack.redis_cli("CLIENT", "LIST").splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if "b" in fields.get("flags", "") and fields.get("cmd") == "eval" and int(fields.get("qbuf", 0)) > 0:
            return True
    return False


def test_vote_killed_mid_shared_write_loses_and_double_counts_nothing(stack):
    """The vote container SIGKILLed while a shared write (several votes in one pipeline) is in flight."""
    held: dict[str, int] = {}

    def kill_while_held(stream: VoteTraffic) -> None:
        eventually(lambda: shared_write_held(stack), 30, "a shared write held by Redis", 0.05)
        held["acked"] = stream.acked
        stack.compose("kill", "-s", "SIGKILL", "vote")
        held["acked_after_kill"] = stream.acked

    def repair() -> None:
        stack.redis_cli("CLIENT", "UNPAUSE")
        stack.compose("start", "vote")

    _, outcome, _ = measure(
        stack,
        "vote SIGKILL mid shared write",
        "the vote container killed with SIGKILL while Redis held one of its shared writes, started again",
        plan(900, 0xFA020007),
        # Redis postpones every write: the next shared write stays in flight until the kill.
        fault_at(0.3, lambda: stack.redis_cli("CLIENT", "PAUSE", "60000", "WRITE"), repair, kill_while_held),
    )
    # Nothing can be acknowledged while Redis holds every write: the votes in flight got no 2xx.
    assert held["acked_after_kill"] == held["acked"]
    assert set(outcome.errors) <= CLEAR_ERRORS | {CUT_SHORT}, outcome.errors
    # The kill was felt: requests in flight lost their connection or found nobody listening.
    assert outcome.errors["ConnectionError"] + outcome.errors[CUT_SHORT] > 0, outcome.errors
