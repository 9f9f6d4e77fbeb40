"""Typed settings of the worker, read from the environment."""

import socket

from pydantic import Field

from voting_common.settings import PostgresSettings, RedisSettings


class WorkerSettings(RedisSettings, PostgresSettings):
    worker_name: str = Field(default_factory=socket.gethostname, description="Redis consumer name")
    health_port: int = 8080
    batch_size: int = Field(default=1000, ge=1, le=50_000)
    block_ms: int = Field(default=1000, ge=10, description="longest wait on an empty queue")
    claim_idle_ms: int = Field(default=15_000, ge=100, description="take over a dead worker's votes after")
    claim_interval_s: float = Field(default=5.0, gt=0)
    backoff_cap_s: float = Field(default=5.0, gt=0)
