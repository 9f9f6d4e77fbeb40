import resource

import pytest

from tooling.compose import ComposeStack, project_name
from voting_common.settings import GunicornSettings

# Shorter than the defaults (5 s, 10 s, 30 s) so the suite waits less for the cuts it checks; every
# bound the tests assert is derived from these.
LIMITS = GunicornSettings(keepalive_s=3, request_body_timeout_s=5, send_timeout_s=4)


@pytest.fixture(scope="package")
def stack(docker_engine):
    """The whole app from docker-compose.yml, built and healthy; removed (with volumes) after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the many-connections case opens 1,000
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    bounds = {
        "KEEPALIVE_S": str(LIMITS.keepalive_s),
        "REQUEST_BODY_TIMEOUT_S": str(LIMITS.request_body_timeout_s),
        "SEND_TIMEOUT_S": str(LIMITS.send_timeout_s),
    }
    with ComposeStack(project=project_name("availability"), extra_env=bounds).running() as stack:
        yield stack
