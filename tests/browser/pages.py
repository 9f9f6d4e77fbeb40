"""What the browser tests read off the two pages, and a WCAG contrast check of what is shown."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from loadgen.voters import post_vote
from tooling import manifests
from voting_common.contract import OPTIONS

LABELS = manifests.values()["options"]  # the chart's, which compose's .env is rendered from
LIVE = "live (server-sent events)"
DASH = "\u2013"
CONNECTION_LOST = "Connection to the result service lost. Reconnecting\u2026"
# The last numbers kept, with the time they were read (the browser's clock).
NOT_LIVE = re.compile(r"^Not live: as of \d\d:\d\d:\d\d \u2014 the database is not answering\.$")
# Counting stalled: the numbers kept, and since when votes wait (or may wait: no worker reporting).
COUNTING_STALLED = re.compile(
    r"^Not live: votes (are waiting to be counted since \d\d:\d\d:\d\d\.|"
    r"may be waiting to be counted since \d\d:\d\d:\d\d \u2014 the worker is not reporting\.)$"
)


def thanks(label: str) -> str:
    return f"Thanks! Your vote for {label} was recorded."


def open_live_results(page: Page, url: str) -> tuple[int, int, int]:
    """Open the result page, wait until the event stream delivers, return (a, b, total) shown.

    The document is marked, so that :func:`assert_not_reloaded` can tell it is still the same."""
    page.goto(url)
    expect(page.locator("#transport")).to_have_text(LIVE, timeout=15_000)
    page.evaluate("window.sameDocument = true")
    return shown_counts(page)


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.sameDocument") is True, "the result page reloaded"


def shown_counts(page: Page) -> tuple[int, int, int]:
    return tuple(int(page.locator(f"#{i}").inner_text()) for i in ("votes-a", "votes-b", "total"))


def expect_counts(page: Page, a: int, b: int, timeout: float = 10_000) -> None:
    """The page shows these counts, percentages and total (waiting up to ``timeout`` ms)."""
    total = a + b
    expect(page.locator("#votes-a")).to_have_text(str(a), timeout=timeout)
    expect(page.locator("#votes-b")).to_have_text(str(b), timeout=timeout)
    expect(page.locator("#total")).to_have_text(str(total), timeout=timeout)
    for option, votes in zip(OPTIONS, (a, b), strict=True):
        expect(page.locator(f"#pct-{option}")).to_have_text(f"{100 * votes / total:.1f}%" if total else DASH)
        expect(page.locator(f"#bar-{option}")).to_have_attribute("aria-valuenow", f"{100 * votes / total:.1f}")


def expect_no_numbers(page: Page, state_text: str, timeout: float = 30_000) -> None:
    """The page says why it has no numbers and shows dashes, never stale or made-up counts."""
    expect(page.locator("#state")).to_have_text(state_text, timeout=timeout)
    expect(page.locator("#results")).to_have_attribute("aria-disabled", "true")
    for element in [f"{kind}-{o}" for kind in ("votes", "pct") for o in OPTIONS] + ["total"]:
        expect(page.locator(f"#{element}")).to_have_text(DASH)
    for option in OPTIONS:
        expect(page.locator(f"#bar-{option}")).to_be_hidden()


def expect_not_live(page: Page, a: int, b: int, timeout: float = 30_000) -> None:
    """The page keeps the last numbers and says they are not live, as of when."""
    expect(page.locator("#state")).to_have_text(NOT_LIVE, timeout=timeout)
    expect(page.locator("#results")).to_have_attribute("data-state", "stale")
    expect(page.locator("#votes-a")).to_have_text(str(a))
    expect(page.locator("#votes-b")).to_have_text(str(b))


def click_vote(page: Page, option: str) -> None:
    """Press the vote page's button for ``option``; the page thanks for that vote and marks it."""
    page.get_by_role("button", name=f"Vote for {LABELS[option]}").click()
    expect(page.locator("#status")).to_have_text(thanks(LABELS[option]))
    expect(page.locator(f"#vote-{option}")).to_have_attribute("aria-pressed", "true")


def vote_over_http(vote_url: str, option: str) -> None:
    """One vote from a new voter (no cookie: the vote service gives it a new voter id)."""
    response = post_vote(None, vote_url, option)
    assert response.status_code == 202, response.text


# Relative luminance and contrast ratio as WCAG 2 defines them; text must reach 4.5:1, or 3:1
# when large (at least 24px, or 18.66px bold). The effective background is the first opaque one
# among the element and its ancestors.
_CONTRAST_JS = """
els => els.map(el => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const style = getComputedStyle(el);
  let bg = null;
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] === 1)) { bg = c.slice(0, 3); break; }
  }
  return { text: el.textContent.trim().slice(0, 40), fg: rgb(style.color).slice(0, 3),
           bg: bg || [255, 255, 255], size: parseFloat(style.fontSize),
           bold: parseInt(style.fontWeight, 10) >= 700 };
})
"""


def _luminance(rgb: list[float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: list[float], bg: list[float]) -> float:
    lighter, darker = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def low_contrast(page: Page, selector: str) -> list[str]:
    """Every visible element matching ``selector`` whose text is below the WCAG AA contrast."""
    found = page.locator(selector).evaluate_all(_CONTRAST_JS)
    assert found, f"nothing matches {selector}"
    problems = []
    for item in found:
        if not item["text"]:
            continue
        large = item["size"] >= 24 or (item["bold"] and item["size"] >= 18.66)
        ratio = contrast_ratio(item["fg"], item["bg"])
        if ratio < (3.0 if large else 4.5):
            problems.append(f"{json.dumps(item['text'])}: {ratio:.2f}:1 ({item['fg']} on {item['bg']})")
    return problems
