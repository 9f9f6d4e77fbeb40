"""Clients for Redis and Postgres built from settings, with timeouts so nothing hangs forever.

Each driver is imported where it is used: vote has no Postgres driver and result no Redis one.
"""

from __future__ import annotations

import functools
from typing import Any

from .settings import PostgresSettings, RedisSettings


@functools.cache
def _sentinel_connection_class() -> type:
    """redis-py leaves a Sentinel-managed connection open when reading a reply fails (a timeout),
    and returns it to the pool: the next command on it would read the late reply meant for the
    failed one (a stale count in place of WAIT's, an entry id in place of ROLE's). This one is
    closed instead, as plain connections are."""
    from redis.sentinel import SentinelManagedConnection

    class Connection(SentinelManagedConnection):
        def read_response(
            self, disable_decoding: Any = False, *, disconnect_on_error: bool | None = True, **kwargs: Any
        ) -> Any:
            return super().read_response(disable_decoding, disconnect_on_error=disconnect_on_error, **kwargs)

    return Connection


def redis_client(
    s: RedisSettings, *, decode_responses: bool = True, block_timeout: float = 0, timeout: float | None = None
):
    """A pooled Redis client. ``block_timeout`` widens the socket timeout for blocking reads;
    ``timeout`` narrows both timeouts (a health check must answer before its probe gives up)."""
    import redis
    from redis.backoff import ExponentialBackoff, NoBackoff
    from redis.retry import Retry

    options: dict[str, Any] = dict(
        db=s.redis_db,
        password=s.redis_password.get_secret_value() if s.redis_password else None,
        socket_timeout=(timeout or s.redis_timeout) + block_timeout,
        socket_connect_timeout=min(timeout or s.redis_connect_timeout, s.redis_connect_timeout),
        health_check_interval=30,
        decode_responses=decode_responses,
        protocol=2,
        # Retry a dropped connection briefly, then fail: callers answer 503 or back off themselves.
        # A timeout is not retried: a Redis that does not answer is noticed after one timeout.
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2, supported_errors=(redis.ConnectionError,)),
    )
    if not s.redis_sentinels:
        return redis.Redis(host=s.redis_host, port=s.redis_port, **options)
    from redis.sentinel import Sentinel

    # Each new connection asks the Sentinels for the master; one to a master demoted since fails
    # (READONLY) and is dropped, so the retry above reaches the new one.
    # Each Sentinel is asked once per lookup, and the next one is the retry: the client's default
    # (ten retries with backoff) would spend more than ten seconds on a Sentinel whose node is gone,
    # every time a connection is made.
    sentinel_kwargs = {k: options[k] for k in ("password", "socket_timeout", "socket_connect_timeout")}
    sentinels = Sentinel(s.sentinel_addresses(), sentinel_kwargs={**sentinel_kwargs, "retry": Retry(NoBackoff(), 0)})
    return sentinels.master_for(s.redis_sentinel_master, connection_class=_sentinel_connection_class(), **options)


def pg_connect(s: PostgresSettings, application_name: str):
    """A new Postgres connection whose every wait is bounded.

    TCP keepalives make a vanished server show up as an error, ``statement_timeout`` makes Postgres
    cancel a statement stuck behind a lock, and the client's own deadline (``pgwait``) catches a
    server that stopped answering altogether."""
    import psycopg2

    from . import pgwait

    pgwait.install(s.postgres_connect_timeout, s.postgres_reply_deadline)
    ms = int(s.postgres_timeout * 1000)
    return psycopg2.connect(
        host=s.postgres_host,
        port=s.postgres_port,
        user=s.postgres_user,
        password=s.postgres_password.get_secret_value(),
        dbname=s.postgres_db,
        connect_timeout=s.postgres_connect_timeout,
        application_name=application_name,
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
        # A client cut off mid-transaction (a partitioned network sends no reset) would leave its
        # session holding the tally's row locks for hours; Postgres ends such a session instead.
        options=f"-c statement_timeout={ms} -c idle_in_transaction_session_timeout={ms}",
    )
