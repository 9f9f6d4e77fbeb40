from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest

from tests.support.env import settings_from
from voting_common import schema
from voting_common.connections import pg_connect
from voting_common.settings import PostgresSettings

pytestmark = pytest.mark.integration


def test_tally_reads_none_before_the_schema_exists(pg_conn):
    assert schema.read_tally(pg_conn) is None


def test_migrate_is_idempotent_and_seeds_the_tally(pg_conn):
    assert schema.migrate(pg_conn) == schema.MIGRATIONS[-1][0]
    assert schema.migrate(pg_conn) == schema.MIGRATIONS[-1][0]
    assert schema.read_tally(pg_conn) == {"a": 0, "b": 0}
    with pg_conn, pg_conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM schema_migrations")
        assert cur.fetchone()[0] == len(schema.MIGRATIONS)


def test_concurrent_migrations_from_several_workers_do_not_collide(postgres_env):
    settings = settings_from(postgres_env, PostgresSettings)

    def migrate(_) -> int:
        with closing(pg_connect(settings, "migrate-test")) as conn:
            return schema.migrate(conn)

    with ThreadPoolExecutor(4) as pool:  # any migration's error is raised here
        assert list(pool.map(migrate, range(4))) == [schema.MIGRATIONS[-1][0]] * 4
