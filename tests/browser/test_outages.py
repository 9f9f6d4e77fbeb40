"""The result page when something behind it stops, hangs or is cut off, and when it comes back.

These tests stop, freeze (docker compose pause) or cut off parts of the shared browser stack; each
leaves it whole again, and every browser test starts from a whole, healthy stack whatever ran before.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from tooling.waiting import eventually

from .conftest import COUNTING_STALL_AFTER_S, WATCHDOG_S, screenshot
from .pages import (
    CONNECTION_LOST,
    COUNTING_STALLED,
    LIVE,
    NOT_LIVE,
    assert_not_reloaded,
    click_vote,
    expect_counts,
    expect_no_numbers,
    expect_not_live,
    low_contrast,
    open_live_results,
    vote_over_http,
)

pytestmark = pytest.mark.browser

STALE_AFTER_S = 2  # the compose default of STALE_AFTER_S


@contextmanager
def stopped(stack, service: str, grace_s: int):
    try:
        stack.compose("stop", "-t", str(grace_s), service)
        yield
    finally:
        stack.compose("start", service)


@contextmanager
def paused(stack, service: str):
    """``service`` frozen, then resumed and healthy again (its health checks failed meanwhile), so
    that what follows finds the stack whole."""
    stack.compose("pause", service)
    try:
        yield
    finally:
        stack.compose("unpause", service)
        eventually(
            lambda: stack.compose("ps", "--format", "{{.Health}}", service).stdout.strip() == "healthy",
            120,
            f"{service} healthy again",
            0.5,
        )


@contextmanager
def offline(page):
    page.context.set_offline(True)
    try:
        yield
    finally:
        page.context.set_offline(False)


def test_database_down_is_said_plainly_and_the_page_recovers_with_every_vote(stack, person):
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    with stopped(stack, "db", 5):
        expect_not_live(results, a, b)  # the last numbers, marked as of when they were read
        assert not low_contrast(results, "#state")
        screenshot(results, "result-database-down-desktop")

        voter = person()  # votes are still taken (they wait in Redis) while the database is down
        voter.goto(stack.vote_url)
        click_vote(voter, "b")
        expect_not_live(results, a, b)

        fresh = person()  # a page opened meanwhile says the same, from the server-side render
        fresh.goto(stack.result_url)
        expect(fresh.locator("#state")).to_have_text(NOT_LIVE)
    expect_counts(results, a, b + 1, timeout=60_000)
    expect(results.locator("#state")).to_have_text("Live: updates as votes arrive.")
    expect(results.locator("#results")).not_to_have_attribute("aria-disabled", "true")


# How the page loses the result service, and within how many seconds it must say so. A frozen
# result service keeps the connection open and sends nothing: no error event ever comes, only the
# watchdog (STREAM_WATCHDOG_S) can tell, once its check request got no answer within 4 s.
CONNECTION_LOSSES = {
    "result service restarted": (lambda stack, page: stopped(stack, "result", 2), 15),
    "result service frozen": (lambda stack, page: paused(stack, "result"), WATCHDOG_S + 4 + 5),
    "browser offline": (lambda stack, page: offline(page), 5),
}


@pytest.mark.parametrize("loss", CONNECTION_LOSSES)
def test_a_lost_connection_blanks_the_numbers_and_the_page_reconnects(stack, person, loss):
    outage, within_s = CONNECTION_LOSSES[loss]
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    with outage(stack, results):
        expect_no_numbers(results, CONNECTION_LOST, timeout=within_s * 1000)
        expect(results.locator("#transport")).to_have_text("reconnecting\u2026")
        vote_over_http(stack.vote_url, "a")  # from elsewhere, meanwhile
    expect(results.locator("#transport")).to_have_text(LIVE, timeout=30_000)
    expect_counts(results, a + 1, b)
    vote_over_http(stack.vote_url, "b")  # and it stays live
    expect_counts(results, a + 1, b + 1)
    assert_not_reloaded(results)


def test_a_frozen_database_turns_the_page_not_live_then_live_again_by_itself(stack, person):
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    with paused(stack, "db"):
        # Within the configured age (plus one refresh): the last numbers, said to be not live.
        expect_not_live(results, a, b, timeout=(STALE_AFTER_S + 5) * 1000)
        vote_over_http(stack.vote_url, "a")  # voting goes on meanwhile
    expect(results.locator("#state")).not_to_have_text(NOT_LIVE, timeout=30_000)
    expect_counts(results, a + 1, b, timeout=30_000)
    expect(results.locator("#results")).to_have_attribute("data-state", "ok")
    assert_not_reloaded(results)


def test_a_stopped_worker_turns_the_page_counting_stalled_then_live_again_by_itself(stack, person):
    """The page keeps the numbers and says since when votes wait to be counted."""
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    with stopped(stack, "worker", 10):
        vote_over_http(stack.vote_url, "a")  # acknowledged, and nobody counts it
        vote_over_http(stack.vote_url, "b")
        # Within the threshold (plus the result service's read and judgement, and the stream).
        expect(results.locator("#state")).to_have_text(COUNTING_STALLED, timeout=(COUNTING_STALL_AFTER_S + 5) * 1000)
        expect(results.locator("#results")).to_have_attribute("data-state", "counting_stalled")
        expect(results.locator("#votes-a")).to_have_text(str(a))  # the last numbers counted, not made up
        expect(results.locator("#votes-b")).to_have_text(str(b))
        expect(results.locator("#transport")).to_have_text(LIVE)  # the stream said it, no polling
        screenshot(results, "result-counting-stalled")
    expect(results.locator("#state")).not_to_have_text(COUNTING_STALLED, timeout=30_000)
    expect_counts(results, a + 1, b + 1, timeout=30_000)
    expect(results.locator("#results")).to_have_attribute("data-state", "ok")
    assert_not_reloaded(results)
