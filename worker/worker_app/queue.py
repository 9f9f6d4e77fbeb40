"""The worker's side of the Redis stream: a consumer group with explicit acknowledgement.

A vote stays in the stream (pending for this consumer) until ``ack`` after Postgres committed
it, so a worker killed at any instant loses nothing: it re-reads its own pending entries when it
comes back, and other workers claim entries left idle too long by one that never comes back.
"""

from __future__ import annotations

from typing import Any

import redis

from voting_common.contract import DEAD_LETTER_STREAM, GROUP, STREAM

Entry = tuple[bytes, dict[bytes, bytes] | None]  # (entry id, fields); fields None if deleted

# The client does not decode replies (a vote that is not UTF-8 must reach the dead-letter stream
# intact). XINFO replies then come as dicts with str keys and bytes values for names; counts are ints.
DEAD_LETTER_MAXLEN = 100_000


def _entries(reply) -> list[Entry]:
    """XREADGROUP's reply (RESP2: [[stream, [(id, fields), ...]]]) as a flat list."""
    return [entry for _stream, entries in reply or [] for entry in entries]


class VoteQueue:
    def __init__(self, client: redis.Redis, consumer: str, claim_idle_ms: int) -> None:
        self.client = client
        self.consumer = consumer
        self.claim_idle_ms = claim_idle_ms
        self._claim_cursor = "0-0"

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_own_pending(self, count: int) -> list[Entry]:
        """Entries delivered to this consumer name before and never acknowledged (after a crash)."""
        return _entries(self.client.xreadgroup(GROUP, self.consumer, {STREAM: "0"}, count=count))

    def read_new(self, count: int, block_ms: int) -> list[Entry]:
        return _entries(self.client.xreadgroup(GROUP, self.consumer, {STREAM: ">"}, count=count, block=block_ms))

    def claim_stale(self, count: int) -> list[Entry]:
        """Take over entries another consumer has held for longer than ``claim_idle_ms``."""
        reply = self.client.xautoclaim(
            STREAM, GROUP, self.consumer, self.claim_idle_ms, start_id=self._claim_cursor, count=count
        )
        self._claim_cursor = reply[0]
        deleted = reply[2] if len(reply) > 2 else []
        return list(reply[1]) + [(entry_id, None) for entry_id in deleted]

    def prune_consumers(self, idle_ms: int) -> int:
        """Forget consumers (gone pods) holding nothing and idle for ``idle_ms``; returns how many."""
        pruned = 0
        for info in self.client.xinfo_consumers(STREAM, GROUP):
            name = info["name"].decode()
            if name != self.consumer and info["pending"] == 0 and info["idle"] >= idle_ms:
                pruned += self.client.xgroup_delconsumer(STREAM, GROUP, name) == 0
        return pruned

    def ack(self, ids: list[bytes]) -> None:
        """Acknowledge and delete: with one consumer group, a handled entry is never read again."""
        if not ids:
            return
        with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(STREAM, GROUP, *ids)
            pipe.xdel(STREAM, *ids)
            pipe.execute()

    def dead_letter(self, items: list[tuple[bytes, dict[bytes, bytes], str]]) -> None:
        """Move bad entries to the dead-letter stream with their reason, atomically with the ack."""
        if not items:
            return
        with self.client.pipeline(transaction=True) as pipe:
            for entry_id, fields, reason in items:
                record: dict[Any, Any] = {b"source_id": entry_id, b"reason": reason.encode()}
                record.update({b"field:" + k: v for k, v in fields.items()})
                pipe.xadd(DEAD_LETTER_STREAM, record, maxlen=DEAD_LETTER_MAXLEN, approximate=True)
            ids = [entry_id for entry_id, _, _ in items]
            pipe.xack(STREAM, GROUP, *ids)
            pipe.xdel(STREAM, *ids)
            pipe.execute()

    def depth(self) -> tuple[int, int]:
        """(backlog not yet delivered, pending delivered but unacknowledged) of our group.

        Redis reports ``lag`` as null once deletions fragment the stream (two workers acknowledging
        out of order), so then the backlog is counted instead: handled entries are deleted in the
        same transaction as their ack, hence the stream holds exactly the backlog plus the pending.
        """
        with self.client.pipeline(transaction=False) as pipe:
            pipe.xlen(STREAM)
            pipe.xinfo_groups(STREAM)
            length, groups = pipe.execute()
        for group in groups:
            if group["name"] == GROUP.encode():
                pending = group["pending"]
                backlog = group["lag"] if group["lag"] is not None else max(0, length - pending)
                return backlog, pending
        return 0, 0
