"""Redis, Postgres and the vote container restarted (or killed) in the middle of a stream of votes."""

import time

import pytest

from loadgen.voters import VotePlan
from tests.faults.harness import CLEAR_ERRORS, CUT_SHORT, FaultStack, VoteTraffic, measure

pytestmark = pytest.mark.faults


def bounce(stack: FaultStack, service: str, how: str, down_s: float = 1.5):
    """An ``inject`` that takes ``service`` down at 30% of the stream and brings it back."""

    def inject(stream: VoteTraffic) -> None:
        stream.wait_progress(0.3)
        assert stream.running, "the stream ended before the fault"
        if how == "restart":  # graceful: SIGTERM, wait, start again
            stack.compose("stop", "-t", "10", service)
        else:
            stack.compose("kill", "-s", "SIGKILL", service)
        time.sleep(down_s)
        stack.compose("start", service)
        stream.recovered()

    return inject


SCENARIOS = {
    # name: (service, how, seed, fault description)
    "redis restart": ("redis", "restart", 0xFA020001, "Redis stopped gracefully (SIGTERM) for 1.5 s, then started"),
    "redis SIGKILL": ("redis", "sigkill", 0xFA020002, "Redis killed with SIGKILL, started again 1.5 s later"),
    "postgres restart": ("db", "restart", 0xFA020003, "Postgres stopped gracefully for 1.5 s, then started"),
    "postgres SIGKILL": ("db", "sigkill", 0xFA020006, "Postgres killed with SIGKILL, started 1.5 s later"),
    "vote restart": ("vote", "restart", 0xFA020004, "the vote container stopped gracefully, started 1.5 s later"),
    "vote SIGKILL": ("vote", "sigkill", 0xFA020005, "the vote container killed with SIGKILL, started 1.5 s later"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_dependency_down_mid_stream_loses_and_double_counts_nothing(stack, scenario):
    service, how, seed, fault = SCENARIOS[scenario]
    result, outcome, canary = measure(
        stack,
        scenario,
        fault,
        VotePlan(voters=900, share_a=0.5, change_share=0.3, seed=seed),
        bounce(stack, service, how),
        canary=True,
    )
    result.check()
    # A vote that failed got a clear answer: 503 with a message, or no connection at all.
    # (The canary voter also checks that every 503 carried a message.)
    allowed = CLEAR_ERRORS | ({CUT_SHORT} if how == "sigkill" and service == "vote" else set())
    assert canary is not None
    assert set(outcome.errors) | set(canary.failures) <= allowed, (outcome.errors, canary.failures)
    if service == "vote":
        # The fault was felt: requests found nobody listening meanwhile.
        assert outcome.errors["ConnectionError"] + canary.failures["ConnectionError"] > 0
    if service == "db":
        assert not outcome.errors, "voting must not depend on Postgres"
