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
    backoff_cap_s: float = Field(default=5.0, gt=0)
    stale_after_s: float = Field(
        default=2.0, gt=0, description="numbers older than this are shown as not live (API: 503, stale)"
    )
