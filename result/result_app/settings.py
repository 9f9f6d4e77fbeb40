"""Typed settings of the result service, read from the environment."""

from pydantic import Field

from voting_common.settings import CountingSettings, OptionLabels, PostgresSettings


class ResultSettings(PostgresSettings, OptionLabels, CountingSettings):
    refresh_interval_s: float = Field(default=0.25, gt=0)
    """seconds between reads of the tally"""
    heartbeat_s: float = Field(default=15.0, gt=0)
    """seconds between keep-alive comments on an event stream"""
    stream_max_s: float = Field(default=300.0, gt=0)
    """seconds after which an event stream ends (the page reconnects)"""
    stream_watchdog_s: float = Field(default=20.0, gt=0)
    """seconds a page's event stream may be silent before the page checks it with one request"""
    # Below GUNICORN_WORKER_CONNECTIONS (the result image: 11000), so that one viewer too many is
    # answered (503, Retry-After) instead of waiting unanswered for a free slot in the worker's pool.
    max_viewers: int = Field(default=10000, ge=1)
    """open event streams per process; one more gets `503` with `Retry-After`"""
    viewers_retry_after_s: int = Field(default=10, ge=1)
    """seconds: the `Retry-After` of that `503`"""
    backoff_cap_s: float = Field(default=5.0, gt=0)
    stale_after_s: float = Field(default=2.0, gt=0)
    """seconds after which numbers are shown as not live (API `503`, `"state": "stale"`)"""
