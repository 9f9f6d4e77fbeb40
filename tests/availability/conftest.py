import resource

import pytest

from tooling.compose import ComposeStack, project_name


@pytest.fixture(scope="package")
def stack(docker):
    """The whole app from docker-compose.yml, built and healthy; removed (with volumes) after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the many-connections case opens 1,000
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    with ComposeStack(project=project_name("availability")).running() as stack:
        yield stack
