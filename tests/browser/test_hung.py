"""The result page when something hangs rather than fails: a frozen database (the numbers turn "not
live" and come back by themselves), a frozen result service (the stream goes silent: the watchdog
notices), and the browser going offline and online again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tooling.waiting import eventually

from .conftest import WATCHDOG_S
from .pages import CONNECTION_LOST, LIVE, NOT_LIVE, expect_counts, expect_not_live, open_live_results, vote_over_http

pytestmark = pytest.mark.browser

STALE_AFTER_S = 2  # the compose default of STALE_AFTER_S


def paused(stack, service: str):
    """Freeze ``service`` (docker compose pause); the returned function resumes it and waits until
    Docker reports it healthy again (its health checks failed meanwhile), so the next test finds
    the stack whole."""
    stack.compose("pause", service)

    def resume() -> None:
        stack.compose("unpause", service)
        eventually(
            lambda: stack.compose("ps", "--format", "{{.Health}}", service).stdout.strip() == "healthy",
            120,
            f"{service} healthy again",
            0.5,
        )

    return resume


def test_a_frozen_database_turns_the_page_not_live_then_live_again_by_itself(stack, person):
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    results.evaluate("window.sameDocument = true")
    resume = paused(stack, "db")
    try:
        # Within the configured age (plus one refresh): the last numbers, said to be not live.
        expect_not_live(results, a, b, timeout=(STALE_AFTER_S + 5) * 1000)
        vote_over_http(stack.vote_url, "a")  # voting goes on meanwhile
    finally:
        resume()
    expect(results.locator("#state")).not_to_have_text(NOT_LIVE, timeout=30_000)
    expect_counts(results, a + 1, b, timeout=30_000)
    expect(results.locator("#results")).to_have_attribute("data-state", "ok")
    assert results.evaluate("window.sameDocument") is True, "the page reloaded"


def test_a_silent_stream_is_noticed_by_the_watchdog_and_the_page_recovers(stack, person):
    """A frozen result service keeps the connection open and sends nothing: no error event ever
    comes, only the watchdog (STREAM_WATCHDOG_S) can tell the numbers are no longer vouched for."""
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    resume = paused(stack, "result")
    try:
        # The watchdog's check request gets no answer within 4 s: then it says so and polls.
        expect(results.locator("#state")).to_have_text(CONNECTION_LOST, timeout=(WATCHDOG_S + 4 + 5) * 1000)
        expect(results.locator("#transport")).to_have_text("reconnecting\u2026")
        vote_over_http(stack.vote_url, "b")
    finally:
        resume()
    expect(results.locator("#transport")).to_have_text(LIVE, timeout=30_000)
    expect_counts(results, a, b + 1)


def test_offline_and_online_again(stack, person):
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)
    results.context.set_offline(True)
    try:
        expect(results.locator("#state")).to_have_text(CONNECTION_LOST)
        vote_over_http(stack.vote_url, "a")  # from elsewhere, while this browser is offline
    finally:
        results.context.set_offline(False)
    expect(results.locator("#transport")).to_have_text(LIVE, timeout=30_000)
    expect_counts(results, a + 1, b)
