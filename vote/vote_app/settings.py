"""Typed settings of the vote service, read from the environment."""

from pydantic import Field

from voting_common.settings import OptionLabels, RedisSettings


class VoteSettings(RedisSettings, OptionLabels):
    # An XADD answers in milliseconds; waiting longer only makes a person stare at a spinner when
    # Redis went away mid-request (its address then stops answering). Then: 503, try again.
    redis_timeout: float = Field(default=2.0, gt=0)
    # Votes arriving while a write is in flight share the next one (one round trip, one fsync).
    group_commit_max: int = Field(default=64, ge=1)
    """most votes one shared Redis write carries (the votes a process receives while a write is in
    flight go together in the next)"""
    redis_wait_replicas: int = Field(default=0, ge=0)
    """replicas that must confirm a vote before it is acknowledged (Redis `WAIT`), and every replica
    connected to the master must too; 0: the master's answer is enough"""
    # A replica confirms only after its own fsync (appendfsync always), which took up to 217 ms
    # on a busy node in the live tests; 500 ms was seen to run out on a healthy group.
    redis_wait_timeout_ms: int = Field(default=2000, ge=1)
    """milliseconds the replicas get to confirm; then the vote is refused with `503`, to be sent again"""
    write_deadline_s: float = Field(default=5.0, gt=0)
    """seconds after a vote request arrives by which Redis must have its entry; a write that gets
    there later is refused by Redis (`503`) and never applied, so a client that waited longer than
    this for an answer may send a different vote without the first one landing after it"""
    max_body_bytes: int = Field(default=4096, ge=256)
    """larger request bodies get `413`"""
    cookie_max_age: int = Field(default=2 * 365 * 24 * 3600, ge=60)
    """seconds the voter cookie lasts"""
    cookie_secure: bool = False
    """`1`: the voter cookie goes over HTTPS only"""
