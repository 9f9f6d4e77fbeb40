"""Putting a vote on the Redis stream; the vote counts as accepted once Redis acknowledged its entry.

The votes a process receives at the same moment go to Redis in one pipelined write (group
commit, ``groupcommit``): one round trip and, with ``appendfsync always``, one fsync for all of
them. Each request still answers only when Redis has acknowledged its own entry; an error means
the vote may not be queued, and the client may send it again (a repeated vote is the same vote).
With ``REDIS_WAIT_REPLICAS`` set, "acknowledged" also means that every replica connected to the
master, and at least that many, has the entry (``WAIT`` after the write), so a master lost right
after the answer does not lose the vote, whichever replica Sentinel promotes.

A vote is written only if it reaches Redis within ``WRITE_DEADLINE_S`` of its request, and Redis
itself checks that (``APPEND_SCRIPT``): a write held up longer (a reconnect, a failover, a slow
network) is refused, never applied late. A client that had no answer by then and sends a different
vote can rely on it: its first vote cannot land after the second and outrank it.
"""

from __future__ import annotations

import time
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
Item = tuple[Fields, int]  # a vote's fields and its deadline (Unix time in milliseconds)

# XADD, unless the master's own clock says the vote's deadline (ARGV[1]) has passed: the check and
# the write are one step on the server, so no delay on the way can slip a late vote in.
APPEND_SCRIPT = """
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[1]) then
  return redis.error_reply('EXPIRED the vote reached Redis after its deadline; it was not written')
end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
"""


class QueueUnavailable(RuntimeError):
    """Redis did not accept the vote; the caller must not acknowledge it."""


class NotReplicated(redis.RedisError):
    """The master took the write, but too few replicas confirmed it in time."""


def get_writer() -> GroupCommit[Item, str]:
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
) -> GroupCommit[Item, str]:
    """The process's shared writer: one pipeline of XADDs per round trip, one reply per vote.

    With ``wait_replicas``, the batch is acknowledged once every replica connected to the master
    (and at least ``wait_replicas``) has it: Sentinel may promote any of them, and one that lacks
    an acknowledged vote would lose it. ``WAIT`` needs that number before the write, so it comes
    from the write before (``ROLE`` after each ``WAIT``); when the master has more replicas than
    the batch waited for (the process's first write, a replica that joined), the batch is written
    again, waiting for all of them: a vote written twice is the same vote. A replica that is gone
    holds votes up (refused, to be sent again) until the master drops it (``repl-timeout``)."""

    replicas = [wait_replicas]  # connected to the master at the last write

    def send(batch: list[Item], waited: int) -> tuple[list, object, int | None]:
        """The batch's results, and with ``waited``: how many replicas confirmed it, how many the
        master has (None: it answered as no master)."""
        pipe = client.pipeline(transaction=False)
        for fields, deadline_ms in batch:
            pairs = (x for field_value in fields.items() for x in field_value)
            pipe.execute_command("EVAL", APPEND_SCRIPT, 1, STREAM, deadline_ms, *pairs)
        if waited:  # on the same connection as the writes: WAIT is for this client's writes
            pipe.execute_command("WAIT", waited, wait_timeout_ms)
            pipe.execute_command("ROLE")
        # An entry Redis refused comes back as its own error; a lost connection fails them all.
        results = cast(list, pipe.execute(raise_on_error=False))
        if not waited:
            return results, None, None
        confirmed, role = results[-2:]
        del results[-2:]
        master = isinstance(role, list) and role and role[0] == "master"
        return results, confirmed, len(role[2]) if master else None

    def write(batch: list[Item]) -> list[str | BaseException]:
        if not wait_replicas:
            return send(batch, 0)[0]
        waited = max(wait_replicas, replicas[0])
        results, confirmed, connected = send(batch, waited)
        if connected is not None and connected > waited and not (isinstance(confirmed, int) and confirmed >= connected):
            waited = replicas[0] = connected
            results, confirmed, connected = send(batch, waited)
        if connected is not None:
            replicas[0] = connected
        wanted = max(wait_replicas, replicas[0])
        if isinstance(confirmed, int) and confirmed >= wanted:
            return results
        short = NotReplicated(f"{confirmed} of {wanted} replicas confirmed the write in {wait_timeout_ms} ms")
        return [short] * len(batch)

    return GroupCommit(write, max_batch=max_batch)


def enqueue(voter_id: str, option: str) -> str:
    """Append the vote to the stream and return its entry id (its version)."""
    fields: Fields = encode(voter_id, option)
    deadline_ms = int((time.time() + current_app.config["SETTINGS"].write_deadline_s) * 1000)
    try:
        entry_id = get_writer().submit((fields, deadline_ms))  # a str: the client decodes replies
    except redis.RedisError as exc:
        REDIS_ERRORS.inc()
        raise QueueUnavailable(str(exc)) from exc
    _ACCEPTED_BY_OPTION[option].inc()
    return entry_id
