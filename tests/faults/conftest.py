import pytest

from tests.faults.harness import FaultStack
from tooling.compose import project_name

# Other replicas take over a killed worker's unacknowledged votes after this (15 s by default).
CLAIM_IDLE_MS = "3000"
# Counting is said to have stalled after 3 s without counting while votes may wait (10 s by
# default), with the worker reporting every 0.5 s: a stall shows within the run.
COUNTING_STALL_AFTER_S = 3.0
COUNTING_HEARTBEAT_S = 0.5


@pytest.fixture(scope="package")
def fault_stack(docker_engine):
    """The compose stack under its own project name; each scenario breaks it, then it is removed."""
    stack = FaultStack(
        project=project_name("faults"),
        extra_env={
            "CLAIM_IDLE_MS": CLAIM_IDLE_MS,
            "COUNTING_STALL_AFTER_S": str(COUNTING_STALL_AFTER_S),
            "COUNTING_HEARTBEAT_S": str(COUNTING_HEARTBEAT_S),
        },
    )
    with stack.running():
        yield stack


@pytest.fixture
def stack(fault_stack):
    """The stack, whole and healthy again (a scenario before may have left it otherwise)."""
    fault_stack.ensure_up()
    yield fault_stack
    print(fault_stack.logs())  # shown by pytest only when the test failed
