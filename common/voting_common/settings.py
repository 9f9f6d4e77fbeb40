"""Settings pieces shared by the services; each service composes its own typed settings object.

Values come from environment variables (case-insensitive field names, e.g. ``REDIS_HOST``);
the defaults match the service names ``redis`` and ``db`` used by compose and Kubernetes.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    log_level: str = "INFO"


class RedisSettings(BaseServiceSettings):
    redis_host: str = "redis"
    redis_port: int = 6379
    redis_password: SecretStr | None = None
    redis_db: int = 0
    redis_timeout: float = Field(default=5.0, gt=0, description="socket timeout in seconds")
    # Short: when the Redis container is gone its address stops answering at all, and a vote
    # request should get its 503 in about a second, not hang for the whole socket timeout.
    redis_connect_timeout: float = Field(default=1.0, gt=0, description="connect timeout in seconds")


class PostgresSettings(BaseServiceSettings):
    postgres_host: str = "db"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_password: SecretStr = SecretStr("")
    postgres_db: str = "votes"
    postgres_connect_timeout: int = Field(default=3, ge=1)
    # A frozen server still completes TCP handshakes and answers keepalives (its kernel does), so
    # only a deadline kept by the client notices it. Postgres itself cancels a statement at this
    # bound; the client gives up one second later, when the server did not even do that.
    postgres_timeout: float = Field(default=5.0, gt=0, description="statement and reply timeout in seconds")

    @property
    def postgres_reply_deadline(self) -> float:
        """How long the client waits on any one answer before it closes the connection."""
        return self.postgres_timeout + 1.0


class CountingSettings(BaseServiceSettings):
    """When counting is judged stalled: read by the worker (its readiness) and by result (its state)."""

    # Counting is current while the worker makes progress or sees no vote waiting; once it has not
    # been for this long (no progress while votes wait, or no worker reporting), results say so.
    counting_stall_after_s: float = Field(
        default=10.0, gt=0, description="seconds without counting while votes may wait: counting-stalled"
    )


class OptionLabels(BaseServiceSettings):
    option_a: str = Field(default="Cats", min_length=1, max_length=60)
    option_b: str = Field(default="Dogs", min_length=1, max_length=60)

    def labels(self) -> dict[str, str]:
        return {"a": self.option_a, "b": self.option_b}


class GunicornSettings(BaseServiceSettings):
    """How gunicorn serves vote and result (read by ``voting_common.gunicorn_conf``)."""

    port: int = Field(default=8080, ge=0, le=65535, description="the pages and the API (0: any free port)")
    metrics_port: int = Field(default=9090, ge=0, le=65535, description="/metrics only, never published")
    web_concurrency: int = Field(default=2, ge=1, description="worker processes")
    gunicorn_threads: int = Field(default=8, ge=1, description="threads per process (gthread only)")
    # gevent: a connection costs a greenlet, not a thread, so clients that are slow or idle cannot
    # take the threads every other client needs (gthread lets ~16 slow headers stop vote).
    gunicorn_worker_class: str = "gevent"
    gunicorn_worker_connections: int = Field(default=2000, ge=1, description="connections per gevent worker")
    # What one client may cost; the bounds apply to each connection (see voting_common.deadlines).
    keepalive_s: int = Field(
        default=5, ge=1, description="an idle keep-alive connection, or one sending its headers, is closed after this"
    )
    request_body_timeout_s: float = Field(default=10.0, gt=0, description="a request body must arrive within this")
    send_timeout_s: float = Field(default=30.0, gt=0, description="a client that takes nothing this long is cut")
    limit_request_line: int = Field(default=2048, ge=64, le=8190, description="longer request lines get 400")
    limit_request_fields: int = Field(default=50, ge=1, le=32768, description="more header fields get 400")
    limit_request_field_size: int = Field(default=4096, ge=64, description="a longer header field gets 400")
    graceful_timeout: int = Field(default=20, ge=1, description="seconds in-flight requests get on SIGTERM")
    access_log: bool = False
