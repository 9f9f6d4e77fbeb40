import pytest
from hypothesis import given
from hypothesis import strategies as st

from voting_common import contract
from voting_common.contract import InvalidMessage, decode, encode

VOTER = "0123456789abcdef0123456789abcdef"


def test_encode_decode_round_trip_keeps_the_stream_id_as_version():
    fields = encode(VOTER, "b")
    raw = {k.encode(): v.encode() for k, v in fields.items()}
    vote = decode(b"1700000000123-7", raw)
    assert (vote.voter_id, vote.option, vote.version_ms, vote.version_seq) == (VOTER, "b", 1700000000123, 7)


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"voter": VOTER}, "missing_field"),
        ({"vote": "a"}, "missing_field"),
        ({"voter": VOTER, "vote": "c"}, "bad_option"),
        ({"voter": VOTER, "vote": "A"}, "bad_option"),
        ({"voter": VOTER.upper(), "vote": "a"}, "bad_voter_id"),
        ({"voter": VOTER[:-1], "vote": "a"}, "bad_voter_id"),
        ({"voter": VOTER, "vote": "a", "x": "1"}, "unexpected_fields"),
        ({b"voter": VOTER.encode(), b"vote": b"\xff"}, "not_utf8"),
    ],
)
def test_decode_rejects_with_a_reason(fields, code):
    with pytest.raises(InvalidMessage) as info:
        decode("1-0", fields)
    assert info.value.code == code
    assert str(info.value)


def test_encode_refuses_what_the_worker_would_dead_letter():
    with pytest.raises(InvalidMessage):
        encode("not-a-voter", "a")
    with pytest.raises(InvalidMessage):
        encode(VOTER, "z")


@given(st.dictionaries(st.binary(max_size=12), st.binary(max_size=40), max_size=4))
def test_decode_of_arbitrary_bytes_either_parses_or_raises_invalid_message(raw):
    try:
        vote = decode(b"5-0", raw)
    except InvalidMessage:
        return
    assert vote.option in contract.OPTIONS and contract.is_voter_id(vote.voter_id)


def test_voter_id_check_is_strict():
    assert contract.is_voter_id(VOTER)
    assert not contract.is_voter_id(VOTER + "\n")
    assert not contract.is_voter_id(None)
