"""Hostile clients against the compose stack's published ports: slow request headers (slowloris), slow
bodies, idle keep-alive connections, many silent connections, clients that never read their answers,
oversized headers. While they are held
open an ordinary voter and reader must be served promptly, every acknowledged vote is counted once,
and the server cuts each hostile connection within the bound its settings give it."""

from __future__ import annotations

import pytest
import requests

from loadgen.voters import fetch_totals
from tests.support import hostile, scenario
from tooling.waiting import eventually

from .conftest import LIMITS

pytestmark = pytest.mark.availability

TICK_S = 0.5  # how often the hostile loop looks at its connections (the resolution of a measured cut)
VOTERS = 20  # each: one vote, one results read


def cut_bound(setting_s: float) -> float:
    """A connection the server closes after ``setting_s`` is seen closed within a tick (and a second of scheduling)."""
    return setting_s + TICK_S + 1.0


def addresses(stack) -> list[hostile.Address]:
    return [stack.address("vote"), stack.address("result")]


def urls(stack) -> tuple[str, str]:
    """The published ports themselves (not the tests' forwarder): what a user's browser reaches."""
    (vote_host, vote_port), (result_host, result_port) = addresses(stack)
    return f"http://{vote_host}:{vote_port}", f"http://{result_host}:{result_port}"


def serve_ordinary_voter_while(stack, helds: list[hostile.Held], cut_after_s: float) -> None:
    """The voter and reader, then every first hostile connection cut within its bound; totals exact."""
    vote_url, result_url = urls(stack)
    before = fetch_totals(result_url)
    served = hostile.ordinary_voter(vote_url, result_url, VOTERS, timeout_s=LIMITS.keepalive_s)
    assert all(held.open_now == held.count for held in helds)  # they were all open meanwhile
    hostile.assert_prompt(served, LIMITS.keepalive_s)
    for held in helds:
        eventually(
            lambda held=held: held.cut >= 1, cut_bound(cut_after_s) * 2, "the server to cut a hostile connection"
        )
        assert max(held.lifetimes) <= cut_bound(cut_after_s), held.lifetimes
    scenario.wait_for_totals(result_url, hostile.expected_totals(before, served), timeout=30)
    ids = ",".join(f"'{voter}'" for voter in served.acked)
    assert int(stack.psql(f"SELECT count(*) FROM votes WHERE voter_id IN ({ids})")) == len(served.acked)


@pytest.mark.parametrize(
    ("pattern", "count", "cut_after"),
    [
        pytest.param(hostile.SLOW_HEADERS, 64, LIMITS.keepalive_s, id="slow-headers"),
        pytest.param(hostile.IDLE_KEEPALIVE, 200, LIMITS.keepalive_s, id="idle-keepalive"),
        pytest.param(hostile.SILENT, 1000, LIMITS.keepalive_s, id="many-silent-connections"),
    ],
)
def test_ordinary_voters_are_served_while_hostile_connections_are_held(stack, pattern, count, cut_after):
    """Four times the 16 slow connections that took gthread's vote offline (slow headers), on both services."""
    seconds = cut_bound(cut_after) * 3
    with (
        hostile.hold(stack.address("vote"), count, pattern, seconds, TICK_S) as on_vote,
        hostile.hold(stack.address("result"), min(count, 200), pattern, seconds, TICK_S) as on_result,
    ):
        serve_ordinary_voter_while(stack, [on_vote, on_result], cut_after)


def test_slow_request_bodies_are_cut_and_do_not_hold_up_voters(stack):
    seconds = cut_bound(LIMITS.request_body_timeout_s) * 2
    with hostile.hold(stack.address("vote"), 64, hostile.SLOW_BODY, seconds, TICK_S) as on_vote:
        serve_ordinary_voter_while(stack, [on_vote], LIMITS.request_body_timeout_s)


PIPELINED = 400  # front pages asked for at once: far more than the buffers between client and server hold


def test_clients_that_never_read_their_answers_are_cut_after_the_send_timeout(stack):
    """Each asks for the front page many times over and reads nothing. Once the answers no longer fit
    in the buffers the server's send waits, and SEND_TIMEOUT_S later the connection is cut (as an
    event stream nobody reads would be); the ordinary voter is served meanwhile.

    They connect to the containers' own addresses: Docker's proxy for a published port would take
    the answers into buffers of its own and keep the client's side open after the server cut it.
    (Through a NodePort there is no such proxy: kube-proxy's rules only rewrite addresses.)"""
    page = min(len(requests.get(url + "/", timeout=5).content) for url in urls(stack))
    pattern = hostile.never_reading(b"GET / HTTP/1.1\r\nHost: app\r\n\r\n", PIPELINED)
    seconds = cut_bound(LIMITS.send_timeout_s) * 2
    with (
        hostile.hold(stack.container_address("vote"), 16, pattern, seconds, TICK_S) as on_vote,
        hostile.hold(stack.container_address("result"), 16, pattern, seconds, TICK_S) as on_result,
    ):
        serve_ordinary_voter_while(stack, [on_vote, on_result], LIMITS.send_timeout_s)
    for held in (on_vote, on_result):  # cut with answers still owed: by the send deadline, not as idle
        assert max(held.received_at_cut) < PIPELINED * page, (held.received_at_cut, page)


def test_oversized_request_lines_and_headers_are_refused(stack):
    for address in addresses(stack):
        assert hostile.oversized_header_status(address, LIMITS.limit_request_field_size + 1) == 431
        assert hostile.oversized_header_status(address, LIMITS.limit_request_field_size // 2) == 200
        assert hostile.status_of(address, b"GET /" + b"a" * LIMITS.limit_request_line + b" HTTP/1.1\r\n\r\n") == 414
        many = b"".join(b"X-%d: 1\r\n" % i for i in range(LIMITS.limit_request_fields + 1))
        assert hostile.status_of(address, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n") == 431
