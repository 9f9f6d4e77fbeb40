"""Shared fixtures: real Redis and Postgres in containers (testcontainers), fresh state per test.

Images come from REDIS_IMAGE / POSTGRES_IMAGE (official images by default), so a machine with no
registry can use local stand-ins. Without a Docker engine these tests skip, except under CI,
where a missing engine is an error.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest

from tests.support.env import settings_from
from tooling import manifests
from tooling.engine import docker_answers
from voting_common import schema
from voting_common.settings import PostgresSettings, RedisSettings

# The images the chart runs (their one home), unless the environment names stand-ins.
REDIS_IMAGE = os.environ.get("REDIS_IMAGE") or manifests.image("redis")
POSTGRES_IMAGE = os.environ.get("POSTGRES_IMAGE") or manifests.image("db")
PG_PASSWORD = "test-only"
REDIS_PASSWORD = "test-only-redis"
# Redis started the way compose and Kubernetes start it: append-only file fsynced on every write,
# clients must authenticate.
REDIS_COMMAND = f"redis-server --appendonly yes --appendfsync always --requirepass {REDIS_PASSWORD}"


def pytest_addoption(parser):
    parser.addini("needs", type="linelist", help="markers, each naming what its tests need beyond Python")
    parser.addoption("--fast", action="store_true", help="run only the tests that carry none of the markers in `needs`")


def pytest_configure(config):
    for line in config.getini("needs"):
        config.addinivalue_line("markers", line)


def pytest_collection_modifyitems(config, items):
    """Under --fast, deselect every test that needs something beyond Python."""
    if not config.getoption("fast"):
        return
    needs = {line.split(":", 1)[0].strip() for line in config.getini("needs")}
    keep, slow = [], []
    for item in items:
        (slow if needs.intersection(mark.name for mark in item.iter_markers()) else keep).append(item)
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = keep


def redis_container(image: str = REDIS_IMAGE):
    """A Redis container set up like production; ``get_client()`` authenticates."""
    from testcontainers.community.redis import RedisContainer

    return RedisContainer(image, password=REDIS_PASSWORD).with_command(REDIS_COMMAND)


@pytest.fixture(scope="session")
def docker_engine():
    """A Docker engine answers (else skip, or fail under CI)."""
    if not docker_answers():
        if os.environ.get("CI"):
            pytest.fail("no Docker engine answers; .ci/run must run ../shared/ci-docker/setup first")
        pytest.skip("no Docker engine: integration tests need one (run ../shared/ci-docker/setup)")


@pytest.fixture(scope="session")
def redis_testcontainer(docker_engine):
    with redis_container() as container:
        yield container


@pytest.fixture(scope="session")
def postgres_testcontainer(docker_engine):
    from testcontainers.community.postgres import PostgresContainer

    with PostgresContainer(POSTGRES_IMAGE, username="postgres", password=PG_PASSWORD, dbname="votes") as container:
        yield container


@pytest.fixture(scope="session")
def redis_server(redis_testcontainer):
    return redis_testcontainer.get_container_host_ip(), int(redis_testcontainer.get_exposed_port(6379))


@pytest.fixture(scope="session")
def postgres_server(postgres_testcontainer):
    return postgres_testcontainer.get_container_host_ip(), int(postgres_testcontainer.get_exposed_port(5432))


@contextmanager
def frozen(container):
    """The container's processes stopped (docker pause) and resumed afterwards, whatever happens.

    A frozen server is a hung one: its kernel still accepts connections and acknowledges packets,
    but nothing answers."""
    wrapped = container.get_wrapped_container()
    wrapped.pause()
    try:
        yield
    finally:
        wrapped.unpause()


@pytest.fixture
def freeze_postgres(postgres_testcontainer):
    return lambda: frozen(postgres_testcontainer)


@pytest.fixture
def freeze_redis(redis_testcontainer):
    return lambda: frozen(redis_testcontainer)


@pytest.fixture
def redis_env(redis_server) -> dict[str, str]:
    """Environment variables pointing a service at the test Redis, with the data wiped."""
    import redis

    host, port = redis_server
    redis.Redis(host=host, port=port, password=REDIS_PASSWORD).flushall()
    return {"REDIS_HOST": host, "REDIS_PORT": str(port), "REDIS_PASSWORD": REDIS_PASSWORD}


@pytest.fixture
def postgres_env(postgres_server) -> dict[str, str]:
    """Environment variables pointing a service at the test Postgres, with the schema dropped."""
    import psycopg2

    host, port = postgres_server
    conn = psycopg2.connect(host=host, port=port, user="postgres", password=PG_PASSWORD, dbname="votes")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(schema.DROP_ALL)
    finally:
        conn.close()
    return {
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": PG_PASSWORD,
        "POSTGRES_DB": "votes",
    }


@pytest.fixture
def redis_client(redis_env):
    from voting_common.connections import redis_client as make

    client = make(settings_from(redis_env, RedisSettings))
    yield client
    client.close()


@pytest.fixture
def pg_conn(postgres_env):
    from voting_common.connections import pg_connect

    conn = pg_connect(settings_from(postgres_env, PostgresSettings), application_name="tests")
    yield conn
    conn.close()
