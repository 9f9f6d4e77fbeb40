"""Browser tests: Debian's headless Chromium, driven by Playwright, against the compose stack.

The stack runs under its own project name and ports Docker chose, for this package only, and is
removed after it. Each test gets it whole and healthy whatever the test before did, and reads the
counts before voting, so the tests pass in any order. Without Chromium these tests skip, except
under CI, where that is an error (.ci/run installs Debian's chromium package). Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tooling import ROOT
from tooling.compose import ComposeStack, project_name
from tooling.waiting import eventually
from voting_common import schema
from voting_common.contract import STREAM

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WATCHDOG_S = 3
COUNTING_STALL_AFTER_S = 3  # the worker reporting every 0.5 s; defaults 10 s and 1 s
# The flags headless Chromium needs here: no sandbox as root, and no background connections to
# Google's hosts, which a machine without internet refuses by the dozen.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def chromium_path() -> str:
    candidates = [os.environ.get("CHROMIUM", ""), shutil.which("chromium") or "", "/usr/bin/chromium"]
    path = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    if path is None:
        message = "no Chromium: install Debian's chromium package (.ci/run does) or set CHROMIUM=/path/to/chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="package")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def browser_stack(docker_engine, chromium_path):
    """The whole app, built and healthy; removed (with its volumes) after the package."""
    # A silent stream is checked after 3 s rather than 20, and counting said stalled after 3 s rather
    # than 10: their tests need not wait long.
    extra_env = {
        "STREAM_WATCHDOG_S": str(WATCHDOG_S),
        "COUNTING_STALL_AFTER_S": str(COUNTING_STALL_AFTER_S),
        "COUNTING_HEARTBEAT_S": "0.5",
    }
    with ComposeStack(project=project_name("browser"), extra_env=extra_env).running() as stack:
        yield stack


@pytest.fixture
def stack(browser_stack):
    """The stack, whole and healthy again (a test before may have stopped a service)."""
    browser_stack.ensure_up()
    return browser_stack


@pytest.fixture
def no_votes(stack):
    """No vote counted anywhere: the stream drained, then the votes and the tally emptied."""
    eventually(lambda: stack.redis_cli("XLEN", STREAM) == "0", 60, "an empty vote stream", 0.2)
    stack.psql(f"BEGIN; {schema.EMPTY_COUNTS} COMMIT;")
    return stack


@pytest.fixture
def person(browser, stack):
    """Opens a page in a new browser context: each person has their own cookies, so is one voter.

    Fails the test on any uncaught JavaScript error, on anything the Content-Security-Policy
    refused (a console error in Chromium) and on any request that leaves the app (the pages must
    work offline: no CDN, font or script from elsewhere).
    """
    contexts = []
    errors: list[str] = []
    refused: list[str] = []
    foreign: list[str] = []
    origins = (stack.vote_url + "/", stack.result_url + "/")

    def new_page(*, viewport=DESKTOP, javascript=True):
        context = browser.new_context(
            viewport=viewport, java_script_enabled=javascript, is_mobile=viewport is PHONE, has_touch=viewport is PHONE
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        page.on("request", lambda req: req.url.startswith(origins) or foreign.append(req.url))
        page.on(
            "console",
            lambda msg: msg.type == "error" and "Content Security Policy" in msg.text and refused.append(msg.text),
        )
        return page

    yield new_page
    for context in contexts:
        context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}"
    assert not refused, f"the Content-Security-Policy refused: {refused}"
    assert not foreign, f"requests outside the app (the pages must work offline): {foreign}"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, animations="disabled")
