"""Property-based tests of the vote service's HTTP edge, against real Redis (hypothesis).

Whatever the body, content type, cookies, method or path: never a 5xx; nothing is queued but a
well-formed voter id with ``a`` or ``b``; a voter id is kept only if well-formed; an oversized
body is a 413; an unknown path is a 404.
"""

import json
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.http import parse_cookie

from tests.support.http_edge import METHODS, PROPERTY_SETTINGS, as_sent, assert_routed, header_text, path_segments
from voting_common.contract import OPTIONS, STREAM, is_voter_id

pytestmark = pytest.mark.integration

MAX_BODY = 4096
ROUTES = {"/": {"GET", "HEAD", "OPTIONS", "POST"}, "/api/vote": {"POST", "OPTIONS"}}
SERVED = {200, 202, 303, 400, 413}  # a vote, or bad input said to be bad
well_formed_id = st.text("0123456789abcdef", min_size=32, max_size=32)
voter_cookie = st.one_of(
    well_formed_id,
    st.text("0123456789abcdefABCDEF", min_size=30, max_size=34),  # near misses
    header_text,
)
cookie_header = st.one_of(
    st.none(),
    voter_cookie.map(lambda v: f"voter_id={v}"),
    st.tuples(voter_cookie, header_text).map(lambda t: f"vote={t[1]}; voter_id={t[0]}"),
    header_text,
)
content_type = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=utf-16",
            "application/vnd.api+json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b0undary",
            "multipart/form-data",
            "text/plain",
            "application/octet-stream",
        ]
    ),
    header_text,
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
option = st.sampled_from(["a", "b", "c", "A", "", " a", "a\x00", "ab"]) | st.text(max_size=5)
body = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.dictionaries(st.sampled_from(["vote", "voter", "choice", "id"]), option | json_value, max_size=3).map(
        lambda d: json.dumps(d).encode()
    ),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.lists(st.tuples(st.sampled_from(["vote", "voter", "x"]), option), max_size=3).map(
        lambda pairs: "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs).encode()
    ),
)


def set_voter_cookie(response) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("voter_id="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return None


@PROPERTY_SETTINGS
@given(path=st.sampled_from(["/", "/api/vote"]), data=body, ctype=content_type, cookie=cookie_header)
def test_any_post_is_never_5xx_and_queues_only_well_formed_votes(app, redis_client, path, data, ctype, cookie):
    redis_client.delete(STREAM)  # hypothesis runs many examples per test
    headers = {"Cookie": cookie} if cookie is not None else {}
    response = app.test_client(use_cookies=False).post(path, data=data, content_type=ctype, headers=headers)
    accepted = 303 if path == "/" else 202
    assert response.status_code in (accepted, 400, 413), (response.status_code, response.get_data()[:200])
    entries = redis_client.xrange(STREAM)
    if response.status_code != accepted:
        assert entries == []
        assert set_voter_cookie(response) is None
        assert response.get_data(), "an error must say what was wrong"
        return
    ((_entry_id, fields),) = entries
    assert set(fields) == {"voter", "vote"} and fields["vote"] in OPTIONS
    assert is_voter_id(fields["voter"])
    assert set_voter_cookie(response) == fields["voter"]
    sent = None if cookie is None else parse_cookie(cookie).get("voter_id")  # as the server reads it
    if is_voter_id(sent):
        assert fields["voter"] == sent  # a well-formed id is the voter's own
    elif sent is not None:
        assert fields["voter"] != sent  # a malformed one is replaced, never stored


@PROPERTY_SETTINGS
@given(vote=st.sampled_from(OPTIONS), cookie=voter_cookie, api=st.booleans())
def test_a_valid_vote_is_queued_as_sent_with_the_voter_id_only_if_well_formed(app, redis_client, vote, cookie, api):
    redis_client.delete(STREAM)
    client = app.test_client()  # a new browser, holding only this cookie
    client.set_cookie("voter_id", cookie)
    response = client.post("/api/vote", json={"vote": vote}) if api else client.post("/", data={"vote": vote})
    assert response.status_code == (202 if api else 303)
    ((_entry_id, fields),) = redis_client.xrange(STREAM)
    assert fields["vote"] == vote
    assert is_voter_id(fields["voter"])
    assert (fields["voter"] == cookie) == is_voter_id(cookie)


@PROPERTY_SETTINGS
@given(
    path=st.sampled_from(["/", "/api/vote"]),
    size=st.integers(MAX_BODY + 1, 5 * MAX_BODY),
    ctype=content_type,
    filler=st.sampled_from([b"x", b"{", b"vote=a&", b"\xff"]),
)
def test_oversized_bodies_are_413_and_nothing_is_queued(client, redis_client, path, size, ctype, filler):
    redis_client.delete(STREAM)
    data = (filler * size)[:size]
    response = client.post(path, data=data, content_type=ctype)
    assert response.status_code == 413, response.get_data()[:200]
    assert redis_client.xrange(STREAM) == []


@PROPERTY_SETTINGS
@given(
    segments=path_segments,
    method=st.sampled_from(METHODS),
    data=st.binary(max_size=100),
)
@example(segments=["nope"], method="GET", data=b"")
@example(segments=[], method="PUT", data=b"")
def test_any_method_and_path_is_never_5xx_and_unknown_paths_are_404(client, redis_client, segments, method, data):
    redis_client.delete(STREAM)
    path, decoded = as_sent(segments)
    assert_routed(method, decoded, client.open(path, method=method, data=data).status_code, ROUTES, SERVED)
    assert redis_client.xrange(STREAM) == [] or (decoded in ROUTES and method == "POST")
