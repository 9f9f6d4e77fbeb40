"""The two pages in a real browser against the running app: vote, watch the results move live.

Each test reads the counts the page shows and expects them to move by its own votes; the one that
needs no votes at all empties them first. So they pass in any order.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loadgen.voters import fetch_totals
from tooling.waiting import eventually
from voting_common.contract import OPTIONS

from .conftest import DESKTOP, PHONE, screenshot
from .pages import (
    CONNECTION_LOST,
    DASH,
    LIVE,
    assert_not_reloaded,
    click_vote,
    expect_counts,
    low_contrast,
    open_live_results,
    shown_counts,
    thanks,
    vote_over_http,
)

pytestmark = pytest.mark.browser

# Every text the result page's status line shows from now on, in window.states.
RECORD_STATES = """() => {
  const state = document.getElementById("state");
  window.states = [];
  new MutationObserver(() => window.states.push(state.textContent))
    .observe(state, { childList: true, characterData: true, subtree: true });
}"""


def test_before_any_vote_the_result_page_says_so(no_votes, stack, person):
    results = person()
    assert open_live_results(results, stack.result_url) == (0, 0, 0)
    expect(results.locator("#state")).to_have_text("No votes yet. Be the first!")
    for option in OPTIONS:
        expect(results.locator(f"#pct-{option}")).to_have_text(DASH)  # not a made-up 50/50
        expect(results.locator(f"#bar-{option}")).to_have_attribute("aria-valuenow", "0")
    screenshot(results, "result-no-votes-desktop")


def test_a_vote_shows_on_the_result_page_without_reload_and_a_changed_vote_moves_it(stack, person):
    results = person()
    a, b, _ = open_live_results(results, stack.result_url)

    voter = person()
    voter.goto(stack.vote_url)
    expect(voter.locator("#status")).to_be_hidden()
    expect(voter.locator("#hostname")).to_have_attribute("data-hostname", re.compile(r"\S+"))
    expect(voter.locator("#hostname")).to_be_visible()
    click_vote(voter, "a")
    expect(voter.locator("#vote-a .mark")).to_have_text("\u2713 your vote")
    expect(voter.locator("#vote-b")).to_have_attribute("aria-pressed", "false")
    expect(voter.locator("#vote-b .mark")).to_have_text("")
    expect_counts(results, a + 1, b)
    expect(results.locator("#state")).to_have_text("Live: updates as votes arrive.")

    click_vote(voter, "b")
    expect(voter.locator("#vote-a")).to_have_attribute("aria-pressed", "false")
    expect_counts(results, a, b + 1)  # the same voter: moved, not added

    vote_over_http(stack.vote_url, "a")  # someone else
    expect_counts(results, a + 1, b + 1)
    assert_not_reloaded(results)
    expect(results.locator("#transport")).to_have_text(LIVE)

    voter.reload()  # the page remembers the voter's choice, without repeating the confirmation
    expect(voter.locator("#vote-b")).to_have_attribute("aria-pressed", "true")
    expect(voter.locator("#status")).to_be_hidden()


def test_without_javascript_the_form_votes_and_the_result_page_refreshes_itself(stack, person):
    results = person(javascript=False)
    results.goto(stack.result_url)
    a, b, _ = shown_counts(results)

    voter = person(javascript=False)
    voter.goto(stack.vote_url)
    click_vote(voter, "b")
    expect(voter).to_have_url(re.compile(r"/\?voted=b$"))  # the form's POST answered 303
    expect(voter.locator("#vote-b .mark")).to_have_text("\u2713 your vote")

    click_vote(voter, "a")
    expect(voter).to_have_url(re.compile(r"/\?voted=a$"))
    # Without JavaScript the result page reloads itself every 5 seconds (<noscript> refresh).
    expect_counts(results, a + 1, b, timeout=15_000)


def test_pages_are_served_under_a_strict_policy_and_the_bars_show_without_javascript(stack, person):
    """No inline script or style is admitted; the result page's bars, drawn before any script runs,
    come from a style block the policy admits by its hash (the fixture fails on any refusal)."""
    vote_over_http(stack.vote_url, "a")
    eventually(lambda: fetch_totals(stack.result_url)["total"], 30, "a vote")
    for url in (stack.vote_url, stack.result_url):
        page = person(javascript=False)
        policy = page.goto(url).headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, policy
        assert "unsafe-inline" not in policy and "script-src 'self';" in policy, policy
    # One snapshot of the page (it reloads itself every 5 s): counts and bar widths together.
    shown = page.evaluate(
        """() => ({
          votes: ["votes-a", "votes-b", "total"].map(id => Number(document.getElementById(id).textContent)),
          bars: ["bar-a", "bar-b"].map(id => document.getElementById(id).getBoundingClientRect().width),
          track: document.getElementById("split").getBoundingClientRect().width,
        })"""
    )
    a, b, total = shown["votes"]
    assert total == a + b > 0, shown
    for votes, width in zip((a, b), shown["bars"], strict=True):
        # The widths are written to 0.1 %; anything else means the style block was refused.
        assert abs(width / shown["track"] - votes / total) <= 0.002, shown


def test_keyboard_alone_can_vote(stack, person):
    page = person()
    page.goto(stack.vote_url)
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "vote-a":
            break
    expect(page.locator("#vote-a")).to_be_focused()
    ring = "e => `${getComputedStyle(e).outlineStyle} ${getComputedStyle(e).outlineWidth}`"
    outline = page.locator("#vote-a").evaluate(ring)
    assert not outline.startswith("none") and not outline.endswith(" 0px"), f"no visible focus ring: {outline}"
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text(thanks("Cats"))
    expect(page.locator("#vote-a")).to_be_focused()  # the keyboard user keeps their place

    page.keyboard.press("Tab")
    expect(page.locator("#vote-b")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#status")).to_have_text(thanks("Dogs"))
    expect(page.locator("#vote-b")).to_have_attribute("aria-pressed", "true")


def test_polling_takes_over_when_the_event_stream_is_blocked(stack, person):
    results = person()
    results.route("**/stream", lambda route: route.abort())  # e.g. a proxy that breaks streaming
    results.goto(stack.result_url)
    expect(results.locator("#transport")).to_have_text("polling every second", timeout=15_000)
    a, b, _ = shown_counts(results)
    results.evaluate(RECORD_STATES)
    vote_over_http(stack.vote_url, "b")
    expect_counts(results, a, b + 1)
    expect(results.locator("#state")).to_have_text("Live: updates as votes arrive.")
    for _ in range(2):  # the stream keeps failing; the page must not flicker back to "lost" each time
        with results.expect_request("**/stream", timeout=30_000):
            pass
    expect(results.locator("#state")).to_have_text("Live: updates as votes arrive.")
    states = results.evaluate("window.states")
    assert CONNECTION_LOST not in states, f"the page blanked while polling worked: {states}"


@pytest.mark.parametrize("name, viewport", [("desktop", DESKTOP), ("phone", PHONE)])
def test_layout_contrast_and_screenshots(stack, person, name, viewport):
    before = fetch_totals(stack.result_url)
    vote_over_http(stack.vote_url, "a")  # with the vote below: an uneven split in the pictures
    voter = person(viewport=viewport)
    voter.goto(stack.vote_url)
    click_vote(voter, "a")
    a, b = voter.locator("#vote-a").bounding_box(), voter.locator("#vote-b").bounding_box()
    for box in (a, b):
        assert box["height"] >= 96 and box["width"] >= 160, f"a vote button is small: {box}"
    if viewport is DESKTOP:
        assert abs(a["y"] - b["y"]) < 10 and a["x"] + a["width"] <= b["x"], "wide screen: buttons side by side"
    else:
        assert abs(a["x"] - b["x"]) < 10 and a["y"] + a["height"] <= b["y"], "on a phone the buttons are stacked"
    for locator in (voter.locator("#vote-a"), voter.locator("#vote-b"), voter.locator("#status")):
        expect(locator).to_be_in_viewport()
    expect(voter.locator("#hostname")).to_be_visible()
    assert_fits_width(voter)
    assert not low_contrast(voter, ".choice .label, .choice .mark, h1, .lead, #status, footer, footer code")
    voter.mouse.move(0, 0)  # no hover effect in the picture
    screenshot(voter, f"vote-{name}")

    results = person(viewport=viewport)
    open_live_results(results, stack.result_url)
    expect_counts(results, before[OPTIONS[0]] + 2, before[OPTIONS[1]])
    expect(results.locator("#state")).to_have_text("Live: updates as votes arrive.")
    for selector in ("#pct-a", "#pct-b", "#total", "#split"):
        expect(results.locator(selector)).to_be_in_viewport()
    assert_fits_width(results)
    assert not low_contrast(results, "h1, #state, .option .label, .pct, .count, .total, footer, footer code")
    screenshot(results, f"result-{name}")

    # The widest numbers still fit their card.
    results.evaluate("['pct-a', 'pct-b'].forEach(id => { document.getElementById(id).textContent = '100.0%'; })")
    overflow = results.locator(".pct").evaluate_all("els => els.map(e => e.scrollWidth - e.clientWidth)")
    assert max(overflow) <= 0, f"a percentage overflows its card by {max(overflow)}px"


def assert_fits_width(page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways: {width[0]}px wide in a {width[1]}px window"
