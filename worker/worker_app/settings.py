"""Typed settings of the worker, read from the environment."""

import socket

from pydantic import Field, model_validator

from voting_common.settings import CountingSettings, PostgresSettings, RedisSettings


class WorkerSettings(RedisSettings, PostgresSettings, CountingSettings):
    worker_name: str = Field(default_factory=socket.gethostname)
    """Redis consumer name (keep it stable across restarts)"""
    health_port: int = 8080
    """health and metrics port"""
    # A probe is answered in milliseconds; a client on the health port gets this long, and only this
    # many at once (each a thread), so it can neither hold the port nor grow the process.
    health_client_timeout_s: float = Field(default=5.0, gt=0)
    """seconds after which a health connection is closed"""
    health_max_connections: int = Field(default=8, ge=1)
    """health connections served at once (more are closed at once)"""
    batch_size: int = Field(default=1000, ge=1, le=50_000)
    """votes per transaction"""
    block_ms: int = Field(default=1000, ge=10)
    """milliseconds: longest wait on an empty queue"""
    claim_idle_ms: int = Field(default=15_000, ge=100)
    """milliseconds after which another worker's unacknowledged votes are taken over"""
    claim_interval_s: float = Field(default=5.0, gt=0)
    """seconds between looks for such votes"""
    backoff_cap_s: float = Field(default=5.0, gt=0)
    """longest wait between reconnection attempts, seconds"""
    counting_heartbeat_s: float = Field(default=1.0, gt=0)
    """seconds between the worker's reports of its progress and the votes waiting (an empty queue
    blocks its read no longer); at most a third of `COUNTING_STALL_AFTER_S`"""

    @model_validator(mode="after")
    def _beats_well_within_the_stall_bound(self):
        # A report delayed by a busy machine must not make an idle worker look stalled.
        if self.counting_heartbeat_s * 3 > self.counting_stall_after_s:
            raise ValueError("COUNTING_HEARTBEAT_S must be at most a third of COUNTING_STALL_AFTER_S")
        return self
