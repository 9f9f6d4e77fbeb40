"""The queue message: what vote writes to Redis and worker reads back.

A vote is one entry of the Redis stream ``STREAM`` with two fields, ``voter`` and ``vote``. Its
stream entry ID (``<ms>-<seq>``, assigned by Redis and strictly increasing) is the vote's version:
of two votes by one voter the one with the higher ID wins, whatever order they are applied in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

STREAM = "votes"
GROUP = "workers"
DEAD_LETTER_STREAM = "votes:dead"
# The two fields of a vote entry.
VOTER_FIELD = "voter"
VOTE_FIELD = "vote"

OPTIONS: tuple[str, ...] = ("a", "b")
VOTER_ID_RE = re.compile(r"\A[0-9a-f]{32}\Z")


class InvalidMessage(ValueError):
    """A queue entry that can never be applied; it goes to the dead-letter stream.

    ``code`` is a short fixed name for metrics; the message is the reason for people.
    """

    def __init__(self, reason: str, code: str = "invalid") -> None:
        super().__init__(reason)
        self.code = code


def is_voter_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and VOTER_ID_RE.match(value) is not None


def is_option(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value in OPTIONS


def encode(voter_id: str, option: str) -> dict[str, str]:
    """The stream fields for a vote; refuses what the worker would dead-letter."""
    if not is_voter_id(voter_id):
        raise InvalidMessage("voter id must be 32 lowercase hex characters", "bad_voter_id")
    if not is_option(option):
        raise InvalidMessage(f"vote must be one of {', '.join(OPTIONS)}", "bad_option")
    return {VOTER_FIELD: voter_id, VOTE_FIELD: option}


@dataclass(frozen=True, slots=True)
class Vote:
    voter_id: str
    option: str
    version_ms: int
    version_seq: int


def parse_entry_id(entry_id: str | bytes) -> tuple[int, int]:
    if isinstance(entry_id, bytes):
        entry_id = entry_id.decode("ascii")
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidMessage("field is not UTF-8", "not_utf8") from None
    return value


def decode(entry_id: str | bytes, raw: Mapping[bytes, bytes] | Mapping[str, str]) -> Vote:
    """Turn a stream entry into a Vote, or raise InvalidMessage with the reason.

    Takes raw bytes as read from Redis so that a non-UTF-8 entry is dead-lettered, not fatal.
    """
    fields = {_text(k): _text(v) for k, v in raw.items()}
    extra = set(fields) - {VOTER_FIELD, VOTE_FIELD}
    if extra:
        raise InvalidMessage(f"unexpected fields: {', '.join(sorted(extra))[:200]}", "unexpected_fields")
    voter_id = fields.get(VOTER_FIELD)
    option = fields.get(VOTE_FIELD)
    if voter_id is None or option is None:
        raise InvalidMessage(f"missing field {VOTER_FIELD!r} or {VOTE_FIELD!r}", "missing_field")
    if not is_voter_id(voter_id):
        raise InvalidMessage("voter id must be 32 lowercase hex characters", "bad_voter_id")
    if not is_option(option):
        raise InvalidMessage(f"unknown option {option[:40]!r}", "bad_option")
    ms, seq = parse_entry_id(entry_id)
    return Vote(voter_id, option, ms, seq)
