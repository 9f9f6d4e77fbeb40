"""Every Postgres wait has a bound: a statement too slow is cancelled by Postgres, and a server that
stopped answering altogether (frozen) is given up by the client within its deadline."""

import time
from contextlib import closing

import psycopg2
import pytest

from tests.support.env import settings_from
from voting_common.connections import pg_connect
from voting_common.pgwait import PostgresNotAnswering
from voting_common.settings import PostgresSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(postgres_env):
    return settings_from(postgres_env, PostgresSettings, postgres_timeout=1, postgres_connect_timeout=1)


def test_a_slow_statement_is_cancelled_by_postgres_and_the_connection_stays_usable(settings):
    with closing(pg_connect(settings, "tests")) as conn:
        with pytest.raises(psycopg2.errors.QueryCanceled), conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(30)")
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)


def test_a_frozen_server_fails_the_query_within_the_deadline_and_closes_the_connection(settings, freeze_postgres):
    with closing(pg_connect(settings, "tests")) as conn:
        with freeze_postgres():
            started = time.monotonic()
            with pytest.raises(PostgresNotAnswering), conn.cursor() as cur:
                cur.execute("SELECT 1")
            waited = time.monotonic() - started
            assert conn.closed
        assert settings.postgres_reply_deadline <= waited < settings.postgres_reply_deadline + 5


def test_connecting_to_a_frozen_server_fails_within_the_connect_timeout(settings, freeze_postgres):
    with freeze_postgres():
        started = time.monotonic()
        with pytest.raises(PostgresNotAnswering):
            pg_connect(settings, "tests")
        waited = time.monotonic() - started
    assert settings.postgres_connect_timeout <= waited < settings.postgres_connect_timeout + 5
    pg_connect(settings, "tests").close()  # and once it answers again, connecting works at once
