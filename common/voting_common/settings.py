"""Settings pieces shared by the services; each service composes its own typed settings object.

Values come from environment variables (case-insensitive field names, e.g. ``REDIS_HOST``);
the defaults match the service names ``redis`` and ``db`` used by compose and Kubernetes.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .contract import OPTIONS


class BaseServiceSettings(BaseSettings):
    # A field's docstring is its description: the README's settings table (make readme) shows it.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)

    log_level: str = "INFO"
    """log level: DEBUG, INFO, WARNING or ERROR"""


class RedisSettings(BaseServiceSettings):
    redis_host: str = "redis"
    """where the queue is"""
    redis_port: int = 6379
    """the queue's port"""
    redis_password: SecretStr | None = None
    """the password Redis demands of every client (`--requirepass`; compose: `compose.env`; Kubernetes:
    Secret `redis-credentials`)"""
    redis_db: int = 0
    """the queue's Redis database number"""
    redis_timeout: float = Field(default=5.0, gt=0)
    """seconds Redis has to answer (vote then answers 503; a timeout is not retried)"""
    # Short: when the Redis container is gone its address stops answering at all, and a vote
    # request should get its 503 in about a second, not hang for the whole socket timeout.
    redis_connect_timeout: float = Field(default=1.0, gt=0)
    """seconds to connect to Redis"""
    redis_sentinels: str = ""
    """Sentinels to ask where the queue's master is, `host:port` separated by commas (then
    `REDIS_HOST`/`REDIS_PORT` are not used; they answer to `REDIS_PASSWORD` too); empty: no Sentinel"""
    redis_sentinel_master: str = "queue"
    """the name the Sentinels know the master by"""

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        hosts = [h.strip().rpartition(":") for h in self.redis_sentinels.split(",") if h.strip()]
        return [(host or port, int(port) if host else 26379) for host, _, port in hosts]


class PostgresSettings(BaseServiceSettings):
    postgres_host: str = "db"
    """where the database is"""
    postgres_port: int = 5432
    """the database's port"""
    postgres_user: str = "postgres"
    """the database user (compose: `compose.env`; Kubernetes: Secret `db-credentials`)"""
    postgres_password: SecretStr = SecretStr("")
    """that user's password (from the same place)"""
    postgres_db: str = "votes"
    """the database's name"""
    postgres_connect_timeout: int = Field(default=3, ge=1)
    """seconds to connect to Postgres"""
    # A frozen server still completes TCP handshakes and answers keepalives (its kernel does), so
    # only a deadline kept by the client notices it. Postgres itself cancels a statement at this
    # bound; the client gives up one second later, when the server did not even do that.
    postgres_timeout: float = Field(default=5.0, gt=0)
    """seconds: `statement_timeout` and `idle_in_transaction_session_timeout` of every session; the
    client's deadline on any answer is one second more"""

    @property
    def postgres_reply_deadline(self) -> float:
        """How long the client waits on any one answer before it closes the connection."""
        return self.postgres_timeout + 1.0


class CountingSettings(BaseServiceSettings):
    """When counting is judged stalled: read by the worker (its readiness) and by result (its state)."""

    # Counting is current while the worker makes progress or sees no vote waiting; once it has not
    # been for this long (no progress while votes wait, or no worker reporting), results say so.
    counting_stall_after_s: float = Field(default=10.0, gt=0)
    """seconds counting may stay not current (no batch committed while votes wait, or no worker
    reporting) before results answer `503`, `"state": "counting_stalled"` and the worker is not
    ready; set the same value for both"""


class OptionLabels(BaseServiceSettings):
    option_a: str = Field(default="Cats", min_length=1, max_length=60)
    """label of option a (set once: compose `x-options`, Kubernetes ConfigMap `options`)"""
    option_b: str = Field(default="Dogs", min_length=1, max_length=60)
    """label of option b"""

    def labels(self) -> dict[str, str]:
        """Label per option id, in the contract's order."""
        return dict(zip(OPTIONS, (self.option_a, self.option_b), strict=True))


class GunicornSettings(BaseServiceSettings):
    """How gunicorn serves vote and result (read by ``voting_common.gunicorn_conf``)."""

    port: int = Field(default=8080, ge=0, le=65535)
    """HTTP port of the pages and the API (0: any free port)"""
    metrics_port: int = Field(default=9090, ge=0, le=65535)
    """`/metrics` only, never published"""
    web_concurrency: int = Field(default=2, ge=1)
    """gunicorn processes"""
    gunicorn_threads: int = Field(default=8, ge=1)
    """threads per process (`gthread` only)"""
    # gevent: a connection costs a greenlet, not a thread, so clients that are slow or idle cannot
    # take the threads every other client needs (gthread lets ~16 slow headers stop vote).
    gunicorn_worker_class: str = "gevent"
    """how gunicorn serves: `gevent` holds a connection with a greenlet, so a slow or idle client
    cannot take what others need"""
    gunicorn_worker_connections: int = Field(default=2000, ge=1)
    """connections per gevent process"""
    # What one client may cost; the bounds apply to each connection (see voting_common.deadlines).
    keepalive_s: int = Field(default=5, ge=1)
    """seconds a request's headers have to arrive; an idle keep-alive connection is closed after them"""
    request_body_timeout_s: float = Field(default=10.0, gt=0)
    """seconds a request body has to arrive (else `408`, connection closed)"""
    send_timeout_s: float = Field(default=30.0, gt=0)
    """seconds a client may take no data before it is cut (an event stream nobody reads)"""
    limit_request_line: int = Field(default=2048, ge=64, le=8190)
    """longer request lines get `414`"""
    limit_request_fields: int = Field(default=50, ge=1, le=32768)
    """more header fields get `431`"""
    limit_request_field_size: int = Field(default=4096, ge=64)
    """a longer header field gets `431`"""
    graceful_timeout: int = Field(default=20, ge=1)
    """seconds in-flight requests get on SIGTERM"""
    access_log: bool = False
    """`1`: one log line per request"""
