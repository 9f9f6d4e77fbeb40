import pytest

from tooling.compose import ComposeStack, project_name


@pytest.fixture(scope="package")
def stack(docker_engine):
    """The whole app from docker-compose.yml, built and healthy; removed (with volumes) after."""
    with ComposeStack(project=project_name("e2e")).running() as stack:
        yield stack
