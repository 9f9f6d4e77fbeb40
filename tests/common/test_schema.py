import threading

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
    errors, versions = [], []

    def run():
        conn = pg_connect(settings, "migrate-test")
        try:
            versions.append(schema.migrate(conn))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert versions == [schema.MIGRATIONS[-1][0]] * 4
