import pytest

from tests.faults.harness import FaultStack
from tooling.compose import project_name

# Other replicas take over a killed worker's unacknowledged votes after this (15 s by default).
CLAIM_IDLE_MS = "3000"


@pytest.fixture(scope="package")
def fault_stack(docker):
    """The compose stack under its own project name; each scenario breaks it, then it is removed."""
    stack = FaultStack(
        project=project_name("faults"),
        extra_env={"CLAIM_IDLE_MS": CLAIM_IDLE_MS},
    )
    with stack.running():
        yield stack


@pytest.fixture
def stack(fault_stack):
    """The stack, whole and healthy again (a scenario before may have left it otherwise)."""
    fault_stack.ensure_up()
    yield fault_stack
    print(fault_stack.logs())  # shown by pytest only when the test failed
