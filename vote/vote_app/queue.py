"""Putting a vote on the Redis stream; the vote counts as accepted once Redis acknowledged its entry.

The votes a process receives at the same moment go to Redis in one pipelined write (group
commit, ``groupcommit``): one round trip and, with ``appendfsync always``, one fsync for all of
them. Each request still answers only when Redis has acknowledged its own entry; an error means
the vote may not be queued, and the client may send it again (a repeated vote is the same vote).
With ``REDIS_WAIT_REPLICAS`` set, "acknowledged" also means that every replica connected to the
master, and at least that many, has the entry (``WAIT`` after the write), so a master lost right
after the answer does not lose the vote, whichever replica Sentinel promotes.
"""

from __future__ import annotations

from typing import Any, cast

import redis
from flask import current_app
from prometheus_client import Counter

from voting_common.contract import OPTIONS, STREAM, encode

from .groupcommit import GroupCommit

ACCEPTED = Counter("vote_votes_accepted_total", "Votes acknowledged after Redis accepted them", ["option"])
REJECTED = Counter("vote_votes_rejected_total", "Vote requests refused", ["reason"])
REDIS_ERRORS = Counter("vote_redis_errors_total", "Redis calls that failed")
_ACCEPTED_BY_OPTION = {option: ACCEPTED.labels(option) for option in OPTIONS}  # no label lookup per vote

Fields = dict[Any, Any]  # the client's own field types, wider than the contract's


class QueueUnavailable(RuntimeError):
    """Redis did not accept the vote; the caller must not acknowledge it."""


class NotReplicated(redis.RedisError):
    """The master took the write, but too few replicas confirmed it in time."""


def get_writer() -> GroupCommit[Fields, str]:
    """The app's shared writer, made on first use: after gunicorn forked, one per process."""
    ext = current_app.extensions
    writer = ext.get("vote_writer")
    if writer is None:
        s = current_app.config["SETTINGS"]
        writer = ext.setdefault(
            "vote_writer",
            group_writer(ext["redis"], s.group_commit_max, s.redis_wait_replicas, s.redis_wait_timeout_ms),
        )
    return writer


def group_writer(
    client: redis.Redis, max_batch: int, wait_replicas: int = 0, wait_timeout_ms: int = 0
) -> GroupCommit[Fields, str]:
    """The process's shared writer: one pipeline of XADDs per round trip, one reply per vote.

    With ``wait_replicas``, the batch is acknowledged once every replica connected to the master
    (and at least ``wait_replicas``) has it: Sentinel may promote any of them, and one that lacks
    an acknowledged vote would lose it. A replica that is gone holds votes up (refused, to be sent
    again) until the master drops it (``repl-timeout``)."""

    replicas = [wait_replicas]  # connected to the master at the last write

    def write(batch: list[Fields]) -> list[str | BaseException]:
        pipe = client.pipeline(transaction=False)
        for fields in batch:
            pipe.xadd(STREAM, fields)
        if wait_replicas:  # on the same connection as the writes: WAIT is for this client's writes
            pipe.execute_command("WAIT", max(wait_replicas, replicas[0]), wait_timeout_ms)
            pipe.execute_command("ROLE")
        # An entry Redis refused comes back as its own error; a lost connection fails them all.
        results = cast(list, pipe.execute(raise_on_error=False))
        if not wait_replicas:
            return results
        confirmed, role = results[-2:]
        del results[-2:]
        if isinstance(role, list) and role and role[0] == "master":
            replicas[0] = len(role[2])
        wanted = max(wait_replicas, replicas[0])
        if isinstance(confirmed, int) and confirmed >= wanted:
            return results
        short = NotReplicated(f"{confirmed} of {wanted} replicas confirmed the write in {wait_timeout_ms} ms")
        return [short] * len(batch)

    return GroupCommit(write, max_batch=max_batch)


def enqueue(voter_id: str, option: str) -> str:
    """Append the vote to the stream and return its entry id (its version)."""
    fields: Fields = encode(voter_id, option)
    try:
        entry_id = get_writer().submit(fields)  # a str: the client decodes replies
    except redis.RedisError as exc:
        REDIS_ERRORS.inc()
        raise QueueUnavailable(str(exc)) from exc
    _ACCEPTED_BY_OPTION[option].inc()
    return entry_id
