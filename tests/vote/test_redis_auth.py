"""Redis refuses clients without its password (started as compose and Kubernetes start it)."""

from contextlib import closing

import pytest
import redis

from tests.conftest import REDIS_PASSWORD
from voting_common.contract import STREAM, encode

pytestmark = pytest.mark.integration

VOTER = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("password", [None, "not-the-password"], ids=["no-password", "wrong-password"])
def test_redis_refuses_a_client_without_the_password(redis_env, password):
    server = {"host": redis_env["REDIS_HOST"], "port": int(redis_env["REDIS_PORT"]), "socket_timeout": 5}
    with closing(redis.Redis(**server, password=password)) as intruder:
        with pytest.raises(redis.AuthenticationError):
            intruder.xadd(STREAM, encode(VOTER, "a"))
        with pytest.raises(redis.AuthenticationError):
            intruder.xlen(STREAM)
    with closing(redis.Redis(**server, password=REDIS_PASSWORD)) as owner:
        assert owner.xlen(STREAM) == 0  # nothing was queued
        owner.xadd(STREAM, encode(VOTER, "a"))
        assert owner.xlen(STREAM) == 1  # the password is what makes the difference


def test_vote_without_the_redis_password_answers_503_and_queues_nothing(make_app, redis_client):
    assert make_app(redis_password=None).test_client().post("/api/vote", json={"vote": "a"}).status_code == 503
    assert redis_client.xlen(STREAM) == 0
    # the same app with the password queues the vote
    assert make_app().test_client().post("/api/vote", json={"vote": "a"}).status_code == 202
    assert redis_client.xlen(STREAM) == 1
