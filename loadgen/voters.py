"""Plans of voters and the threads that cast their votes over HTTP."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from http.cookiejar import DefaultCookiePolicy

import requests

from tooling.waiting import eventually
from voting_common.contract import OPTIONS


def voter_id(seed: int, index: int) -> str:
    """A well-formed voter id (32 hex), distinct per (seed, index), so runs don't collide."""
    return f"{seed & 0xFFFFFFFF:08x}{index:024x}"


@dataclass(frozen=True)
class VotePlan:
    """``voters`` distinct voters; a share (``share_a``) first votes ``OPTIONS[0]``; a share of them
    then change their vote."""

    voters: int
    share_a: float = 0.5
    change_share: float = 0.2
    seed: int = 1

    def ballots(self) -> list[list[str]]:
        """Per voter, the options they cast in order (one, or two when they change their mind)."""
        rng = random.Random(self.seed)
        plan = []
        for _ in range(self.voters):
            first, other = OPTIONS if rng.random() < self.share_a else OPTIONS[::-1]
            changes = rng.random() < self.change_share
            plan.append([first, other] if changes else [first])
        return plan

    def expected(self) -> dict[str, int]:
        """Totals once every ballot is acknowledged: each voter's last choice counts once."""
        last = Counter(ballot[-1] for ballot in self.ballots())
        return {**{o: last[o] for o in OPTIONS}, "total": self.voters}


@dataclass
class Outcome:
    intended: int = 0  # votes the plan casts (first votes plus changes)
    requests: int = 0  # HTTP requests sent, retries included
    acknowledged: int = 0  # votes that got 202
    gave_up: int = 0  # votes never acknowledged before the deadline
    errors: Counter = field(default_factory=Counter)  # failed requests by kind
    latencies: list[float] = field(default_factory=list)  # seconds, acknowledged requests
    seconds: float = 0.0
    final: dict[str, str] = field(default_factory=dict)  # voter id -> last acknowledged option

    def acknowledged_totals(self) -> dict[str, int]:
        counts = Counter(self.final.values())
        return {**{o: counts[o] for o in OPTIONS}, "total": len(self.final)}

    def summary(self) -> str:
        errors = ", ".join(f"{k}={v}" for k, v in sorted(self.errors.items())) or "none"
        return (
            f"votes {self.intended}: acknowledged {self.acknowledged}, gave up {self.gave_up}; "
            f"requests {self.requests}, failed {sum(self.errors.values())} ({errors}); {self.seconds:.1f}s"
        )


def post_vote(
    session: requests.Session | None,
    vote_url: str,
    option: str,
    voter: str | None = None,
    *,
    form: bool = False,
    timeout: float = 10.0,
) -> requests.Response:
    """One vote, the one way every client here sends it: JSON to ``/api/vote`` (202 when
    acknowledged) or, with ``form``, the page's form to ``/`` (303, not followed). As ``voter`` when
    given, else as whoever the session's cookie names (none: the vote service makes a new voter)."""
    post = session.post if session is not None else requests.post
    headers = {"Cookie": f"voter_id={voter}"} if voter else None
    if form:
        return post(f"{vote_url}/", data={"vote": option}, headers=headers, allow_redirects=False, timeout=timeout)
    return post(f"{vote_url}/api/vote", json={"vote": option}, headers=headers, timeout=timeout)


class _GaveUp(Exception):
    """A vote that will not be acknowledged: the deadline passed, the run was stopped, or the request is wrong."""


def run(
    vote_url: str,
    plan: VotePlan,
    concurrency: int = 16,
    rate: float | None = None,
    deadline_s: float = 300.0,
    retry_pause_s: float = 0.2,
    on_vote: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """Cast every ballot of ``plan`` through ``POST /api/vote``; returns what happened.

    ``rate`` caps votes per second over all threads; ``on_vote`` is called after each
    acknowledged vote (for progress bars); ``stop`` ends the run early.
    """
    ballots = plan.ballots()
    outcome = Outcome(intended=sum(len(b) for b in ballots))
    lock = threading.Lock()
    next_voter = iter(range(len(ballots)))
    started = time.monotonic()
    end = started + deadline_s
    next_at = started  # when the rate allows the next request (it never saves up for a burst)
    stop = stop or threading.Event()
    vote_url = vote_url.rstrip("/")

    def pace() -> None:
        nonlocal next_at
        if not rate:
            return
        with lock:
            now = time.monotonic()
            at = max(next_at, now)
            next_at = at + 1.0 / rate
        if at > now:
            time.sleep(at - now)

    def acknowledged(session: requests.Session, voter: str, option: str) -> bool:
        """One attempt at the vote, counted in ``outcome``."""
        if time.monotonic() >= end or stop.is_set():
            raise _GaveUp
        pace()
        sent = time.perf_counter()
        try:
            kind = f"http_{post_vote(session, vote_url, option, voter).status_code}"
        except requests.RequestException as exc:
            kind = type(exc).__name__
        with lock:
            outcome.requests += 1
            if kind == "http_202":
                outcome.acknowledged += 1
                outcome.latencies.append(time.perf_counter() - sent)
                outcome.final[voter] = option
                return True
            outcome.errors[kind] += 1
        if kind in ("http_400", "http_413"):
            raise _GaveUp  # our request is wrong; retrying will not help
        return False

    def thread_main() -> None:
        with requests.Session() as session:
            # One session serves many voters: never keep a cookie the server sets for one of them.
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            while not stop.is_set():
                with lock:
                    index = next(next_voter, None)
                if index is None:
                    return
                voter = voter_id(plan.seed, index)
                for option in ballots[index]:
                    try:  # each vote retried until acknowledged, as a person pressing again
                        eventually(partial(acknowledged, session, voter, option), deadline_s, "a vote", retry_pause_s)
                    except (_GaveUp, AssertionError):  # AssertionError: past the deadline
                        with lock:
                            outcome.gave_up += 1
                        break
                    if on_vote:
                        on_vote()

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(thread_main)
    outcome.seconds = time.monotonic() - started
    return outcome


def fetch_totals(result_url: str) -> dict[str, int]:
    """The votes per option and ``total`` from ``/api/results``; raises if results are unavailable."""
    response = requests.get(result_url.rstrip("/") + "/api/results", timeout=5)
    response.raise_for_status()
    return totals(response.json())


def totals(body: dict) -> dict[str, int]:
    """The votes per option and ``total`` from an ``/api/results`` answer."""
    return {**{o["id"]: o["votes"] for o in body["options"]}, "total": body["total"]}


def wait_for_totals(result_url: str, expected: dict[str, int], timeout: float = 120.0) -> tuple[dict, float]:
    """Poll ``/api/results`` until it shows exactly ``expected``; returns (seen, seconds waited).

    Fails with an AssertionError that names the totals last seen."""
    started = time.monotonic()
    seen: dict = {}

    def matches() -> bool:
        seen.update(fetch_totals(result_url))
        return all(seen.get(k) == v for k, v in expected.items())

    try:
        eventually(matches, timeout, "the results", ignore=(requests.RequestException, ValueError))
    except AssertionError:
        raise AssertionError(
            f"results never matched within {timeout}s: expected {expected}, last seen {seen}"
        ) from None
    return dict(seen), time.monotonic() - started
