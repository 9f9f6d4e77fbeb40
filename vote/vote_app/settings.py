"""Typed settings of the vote service, read from the environment."""

from pydantic import Field

from voting_common.settings import OptionLabels, RedisSettings


class VoteSettings(RedisSettings, OptionLabels):
    max_body_bytes: int = Field(default=4096, ge=256, description="larger request bodies get 413")
    cookie_max_age: int = Field(default=2 * 365 * 24 * 3600, ge=60)
    cookie_secure: bool = False
