"""Redis refuses clients without its password (started as compose and Kubernetes start it)."""

import pytest
import redis

from tests.conftest import REDIS_PASSWORD
from tests.support.env import settings_from
from vote_app import create_app
from vote_app.settings import VoteSettings
from voting_common.contract import STREAM, encode

pytestmark = pytest.mark.integration

VOTER = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("password", [None, "not-the-password"], ids=["no-password", "wrong-password"])
def test_redis_refuses_a_client_without_the_password(redis_env, password):
    host, port = redis_env["REDIS_HOST"], int(redis_env["REDIS_PORT"])
    intruder = redis.Redis(host=host, port=port, password=password, socket_timeout=5)
    try:
        with pytest.raises(redis.AuthenticationError):
            intruder.xadd(STREAM, encode(VOTER, "a"))
        with pytest.raises(redis.AuthenticationError):
            intruder.xlen(STREAM)
    finally:
        intruder.close()
    owner = redis.Redis(host=host, port=port, password=REDIS_PASSWORD, socket_timeout=5)
    try:
        assert owner.xlen(STREAM) == 0  # nothing was queued
        owner.xadd(STREAM, encode(VOTER, "a"))
        assert owner.xlen(STREAM) == 1  # the password is what makes the difference
    finally:
        owner.close()


def test_vote_without_the_redis_password_answers_503_and_queues_nothing(redis_env, redis_client):
    no_password = {k: v for k, v in redis_env.items() if k != "REDIS_PASSWORD"}
    app = create_app({"TESTING": True, "SETTINGS": settings_from(no_password, VoteSettings)})
    response = app.test_client().post("/api/vote", json={"vote": "a"})
    assert response.status_code == 503
    assert redis_client.xlen(STREAM) == 0
    # the same app with the password queues the vote
    app = create_app({"TESTING": True, "SETTINGS": settings_from(redis_env, VoteSettings)})
    assert app.test_client().post("/api/vote", json={"vote": "a"}).status_code == 202
    assert redis_client.xlen(STREAM) == 1
