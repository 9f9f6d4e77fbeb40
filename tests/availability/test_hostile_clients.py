"""Hostile clients against the compose stack's published ports: slow request headers (slowloris), slow
bodies, idle keep-alive connections, many silent connections, clients that never read their answers,
oversized headers. While they are held open an ordinary voter and reader must be served promptly,
every acknowledged vote is counted once, and the server cuts each hostile connection within the
bound its settings give it."""

from __future__ import annotations

import contextlib

import pytest
import requests

from loadgen.voters import fetch_totals
from tests.support import hostile, scenario
from tooling.waiting import eventually

from .conftest import LIMITS

pytestmark = pytest.mark.availability

TICK_S = 0.5  # how often the hostile loop looks at its connections (the resolution of a measured cut)
VOTERS = 20  # each: one vote, one results read
PIPELINED = 400  # front pages asked for at once: far more than the buffers between client and server hold


def cut_bound(setting_s: float) -> float:
    """A connection the server closes after ``setting_s`` is seen closed within a tick (and a second of scheduling)."""
    return setting_s + TICK_S + 1.0


def urls(stack) -> tuple[str, str]:
    """The published ports themselves (not the tests' forwarder): what a user's browser reaches."""
    (vote_host, vote_port), (result_host, result_port) = stack.address("vote"), stack.address("result")
    return f"http://{vote_host}:{vote_port}", f"http://{result_host}:{result_port}"


def held_while_voting(
    stack, where: dict[hostile.Address, int], pattern: hostile.Pattern, cut_after_s: float, hold_bounds: int
) -> list[hostile.Held]:
    """``where``'s hostile connections held while the voter and reader are served promptly; every first
    one is cut within its bound; every acknowledged vote counted once."""
    seconds = cut_bound(cut_after_s) * hold_bounds
    vote_url, result_url = urls(stack)
    with contextlib.ExitStack() as holding:
        helds: list[hostile.Held] = [
            holding.enter_context(hostile.hold(a, n, pattern, seconds, TICK_S)) for a, n in where.items()
        ]
        before = fetch_totals(result_url)
        served = hostile.ordinary_voter(vote_url, result_url, VOTERS, timeout_s=LIMITS.keepalive_s)
        assert all(held.open_now == held.count for held in helds)  # they were all open meanwhile
        hostile.assert_prompt(served, LIMITS.keepalive_s)
        for held in helds:
            eventually(lambda h=held: h.cut >= 1, cut_bound(cut_after_s) * 2, "the server to cut a hostile connection")
            assert max(held.lifetimes) <= cut_bound(cut_after_s), held.lifetimes
        scenario.wait_for_totals(result_url, hostile.expected_totals(before, served), timeout=30)
        ids = ",".join(f"'{voter}'" for voter in served.acked)
        assert int(stack.psql(f"SELECT count(*) FROM votes WHERE voter_id IN ({ids})")) == len(served.acked)
    return helds


@pytest.mark.parametrize(
    ("pattern", "on_vote", "on_result", "cut_after", "hold_bounds"),
    [
        # Four times the 16 slow connections that took gthread's vote offline.
        pytest.param(hostile.SLOW_HEADERS, 64, 64, LIMITS.keepalive_s, 3, id="slow-headers"),
        pytest.param(hostile.IDLE_KEEPALIVE, 200, 200, LIMITS.keepalive_s, 3, id="idle-keepalive"),
        pytest.param(hostile.SILENT, 1000, 200, LIMITS.keepalive_s, 3, id="many-silent-connections"),
        pytest.param(hostile.SLOW_BODY, 64, 0, LIMITS.request_body_timeout_s, 2, id="slow-bodies"),
    ],
)
def test_ordinary_voters_are_served_while_hostile_connections_are_held(
    stack, pattern, on_vote, on_result, cut_after, hold_bounds
):
    where = {stack.address("vote"): on_vote, stack.address("result"): on_result}
    held_while_voting(stack, {a: n for a, n in where.items() if n}, pattern, cut_after, hold_bounds)


def test_clients_that_never_read_their_answers_are_cut_after_the_send_timeout(stack):
    """Each asks for the front page many times over and reads nothing. Once the answers no longer fit
    in the buffers the server's send waits, and SEND_TIMEOUT_S later the connection is cut (as an
    event stream nobody reads would be); the ordinary voter is served meanwhile.

    They connect to the containers' own addresses: Docker's proxy for a published port would take
    the answers into buffers of its own and keep the client's side open after the server cut it.
    (Through a NodePort there is no such proxy: kube-proxy's rules only rewrite addresses.)"""
    page = min(len(requests.get(url + "/", timeout=5).content) for url in urls(stack))
    pattern = hostile.Pattern(b"GET / HTTP/1.1\r\nHost: app\r\n\r\n" * PIPELINED, reads=False)
    where = {stack.container_address("vote"): 16, stack.container_address("result"): 16}
    for held in held_while_voting(stack, where, pattern, LIMITS.send_timeout_s, 2):
        # Cut with answers still owed: by the send deadline, not as idle.
        assert max(held.received_at_cut) < PIPELINED * page, (held.received_at_cut, page)


def test_oversized_request_lines_and_headers_are_refused(stack):
    head = b"GET / HTTP/1.1\r\nHost: x\r\n"
    cases = [
        (head + b"X-Big: " + b"a" * (LIMITS.limit_request_field_size + 1) + b"\r\n\r\n", 431),
        (head + b"X-Big: " + b"a" * (LIMITS.limit_request_field_size // 2) + b"\r\n\r\n", 200),
        (b"GET /" + b"a" * LIMITS.limit_request_line + b" HTTP/1.1\r\n\r\n", 414),
        (head + b"".join(b"X-%d: 1\r\n" % i for i in range(LIMITS.limit_request_fields + 1)) + b"\r\n", 431),
    ]
    for address in (stack.address("vote"), stack.address("result")):
        assert [hostile.status_of(address, request) for request, _ in cases] == [status for _, status in cases]
