import os

import pytest

from tests.support.compose import ComposeStack


@pytest.fixture(scope="session")
def stack(docker):
    """The whole app from docker-compose.yml, built and healthy; removed (with volumes) after."""
    stack = ComposeStack(project=os.environ.get("COMPOSE_TEST_PROJECT", "votingapp-e2e"))
    stack.down()
    try:
        stack.up()
    except Exception:
        print(stack.logs())
        stack.down()
        raise
    yield stack
    stack.down()
