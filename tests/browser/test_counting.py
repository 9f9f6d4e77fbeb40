"""The result page when counting stalls: the worker stopped while votes are acknowledged. The page
keeps the numbers, says since when votes wait to be counted, and is live again by itself, with the
votes counted, once the worker is back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import COUNTING_STALL_AFTER_S, screenshot
from .pages import COUNTING_STALLED, LIVE, expect_counts, open_live_results, vote_over_http

pytestmark = pytest.mark.browser


def test_a_stopped_worker_turns_the_page_counting_stalled_then_live_again_by_itself(stack, person):
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    results.evaluate("window.sameDocument = true")
    stack.compose("stop", "-t", "10", "worker")
    try:
        vote_over_http(stack.vote_url, "a")  # acknowledged, and nobody counts it
        vote_over_http(stack.vote_url, "b")
        # Within the threshold (plus the result service's read and judgement, and the stream).
        expect(results.locator("#state")).to_have_text(COUNTING_STALLED, timeout=(COUNTING_STALL_AFTER_S + 5) * 1000)
        expect(results.locator("#results")).to_have_attribute("data-state", "counting_stalled")
        # The last numbers counted, not made up.
        expect(results.locator("#votes-a")).to_have_text(str(a))
        expect(results.locator("#votes-b")).to_have_text(str(b))
        expect(results.locator("#transport")).to_have_text(LIVE)  # the stream said it, no polling
        screenshot(results, "result-counting-stalled")
    finally:
        stack.compose("start", "worker")
    expect(results.locator("#state")).not_to_have_text(COUNTING_STALLED, timeout=30_000)
    expect_counts(results, a + 1, b + 1, timeout=30_000)
    expect(results.locator("#results")).to_have_attribute("data-state", "ok")
    assert results.evaluate("window.sameDocument") is True, "the page reloaded"
