import pytest

from tests.support.compose import ComposeStack, project_name


@pytest.fixture(scope="session")
def stack(docker):
    """The whole app from docker-compose.yml, built and healthy; removed (with volumes) after."""
    stack = ComposeStack(project=project_name("e2e"))
    stack.down()
    try:
        stack.up()
    except Exception:
        print(stack.logs())
        stack.down()
        raise
    yield stack
    stack.down()
