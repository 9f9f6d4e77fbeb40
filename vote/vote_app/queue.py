"""Putting a vote on the Redis stream; the vote counts as accepted once XADD returns."""

from __future__ import annotations

from typing import Any, cast

import redis
from flask import current_app
from prometheus_client import Counter

from voting_common.contract import STREAM, encode

ACCEPTED = Counter("vote_votes_accepted_total", "Votes acknowledged after Redis accepted them", ["option"])
REJECTED = Counter("vote_votes_rejected_total", "Vote requests refused", ["reason"])
REDIS_ERRORS = Counter("vote_redis_errors_total", "Redis calls that failed")


class QueueUnavailable(RuntimeError):
    """Redis did not accept the vote; the caller must not acknowledge it."""


def get_redis() -> redis.Redis:
    # One pooled client per process (not per request as flaskr's get_db): the pool already hands
    # each request its own connection.
    return current_app.extensions["redis"]


def enqueue(voter_id: str, option: str) -> str:
    """Append the vote to the stream and return its entry id (its version)."""
    fields: dict[Any, Any] = encode(voter_id, option)  # the client's own field types, wider than ours
    try:
        entry_id = cast(str, get_redis().xadd(STREAM, fields))  # a str: the client decodes replies
    except redis.RedisError as exc:
        REDIS_ERRORS.inc()
        raise QueueUnavailable(str(exc)) from exc
    ACCEPTED.labels(option).inc()
    return entry_id
