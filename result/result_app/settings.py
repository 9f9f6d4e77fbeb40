"""Typed settings of the result service, read from the environment."""

from pydantic import Field

from voting_common.settings import CountingSettings, OptionLabels, PostgresSettings


class ResultSettings(PostgresSettings, OptionLabels, CountingSettings):
    refresh_interval_s: float = Field(default=0.25, gt=0, description="how often the tally is read")
    heartbeat_s: float = Field(default=15.0, gt=0, description="SSE keep-alive comment interval")
    stream_max_s: float = Field(default=300.0, gt=0, description="SSE clients reconnect after this")
    stream_watchdog_s: float = Field(
        default=20.0, gt=0, description="a page whose stream is silent this long checks it with one request"
    )
    # Below GUNICORN_WORKER_CONNECTIONS (the result image: 11000), so that one viewer too many is
    # answered (503, Retry-After) instead of waiting unanswered for a free slot in the worker's pool.
    max_viewers: int = Field(default=10000, ge=1, description="open event streams per process; more get 503")
    viewers_retry_after_s: int = Field(default=10, ge=1, description="Retry-After of that 503")
    backoff_cap_s: float = Field(default=5.0, gt=0)
    stale_after_s: float = Field(
        default=2.0, gt=0, description="numbers older than this are shown as not live (API: 503, stale)"
    )
