"""The result page when the database or the result service goes away, and when it comes back.

These tests stop containers of the shared browser stack; each leaves it whole again, and every
browser test starts from a whole, healthy stack whatever ran before.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot
from .pages import (
    CONNECTION_LOST,
    LIVE,
    NOT_LIVE,
    expect_counts,
    expect_no_numbers,
    expect_not_live,
    low_contrast,
    open_live_results,
    thanks,
    vote_over_http,
)

pytestmark = pytest.mark.browser


def test_database_down_is_said_plainly_and_the_page_recovers_with_every_vote(stack, person):
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    try:
        stack.compose("stop", "-t", "5", "db")
        expect_not_live(results, a, b)  # the last numbers, marked as of when they were read
        assert not low_contrast(results, "#state")
        screenshot(results, "result-database-down-desktop")

        voter = person()  # votes are still taken (they wait in Redis) while the database is down
        voter.goto(stack.vote_url)
        voter.get_by_role("button", name="Vote for Dogs").click()
        expect(voter.locator("#status")).to_have_text(thanks("Dogs"))
        expect_not_live(results, a, b)

        fresh = person()  # a page opened meanwhile says the same, from the server-side render
        fresh.goto(stack.result_url)
        expect(fresh.locator("#state")).to_have_text(NOT_LIVE)
    finally:
        stack.compose("start", "db")
    expect_counts(results, a, b + 1, timeout=60_000)
    expect(results.locator("#state")).to_have_text("Live: updates as votes arrive.")
    expect(results.locator("#results")).not_to_have_attribute("aria-disabled", "true")


def test_the_page_reconnects_after_the_result_service_restarts(stack, person):
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    results.evaluate("window.sameDocument = true")
    try:
        stack.compose("stop", "-t", "2", "result")
        expect_no_numbers(results, CONNECTION_LOST, timeout=15_000)
        expect(results.locator("#transport")).to_have_text("reconnecting\u2026")
        vote_over_http(stack.vote_url, "a")
    finally:
        stack.compose("start", "result")
    expect(results.locator("#transport")).to_have_text(LIVE, timeout=30_000)
    expect_counts(results, a + 1, b)
    vote_over_http(stack.vote_url, "b")  # and it stays live
    expect_counts(results, a + 1, b + 1)
    assert results.evaluate("window.sameDocument") is True, "the result page reloaded"
