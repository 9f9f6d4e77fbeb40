"""Voting scenarios over HTTP, shared by the compose end-to-end test and the live kind tests.

Each voter is its own ``requests.Session`` (its own cookie jar), as separate browsers would be.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import requests

from loadgen.voters import post_vote, totals, wait_for_totals
from tooling.waiting import eventually
from voting_common.contract import OPTIONS

HOSTNAME_RE = re.compile(r'data-hostname="([^"]+)"')


def wait_http_ok(url: str, timeout: float = 60) -> None:
    eventually(
        lambda: requests.get(url, timeout=3).ok, timeout, f"{url} to answer OK", 0.5, (requests.RequestException,)
    )


def settled_totals(result_url: str, timeout: float = 60) -> dict[str, int]:
    """Totals that include every vote counted before this call.

    With several result pods behind a Service, one may answer from an older read than the one a
    caller saw last; a read that began after this call (its ``as_of``) cannot miss an earlier vote.
    """
    since = datetime.now(UTC)

    def fresh() -> dict[str, int] | None:
        body = requests.get(f"{result_url}/api/results", timeout=5).json()
        if body.get("state") != "ok" or datetime.fromisoformat(body["as_of"]) <= since:
            return None
        return totals(body)

    what = f"{result_url} to answer from a read begun now"
    return eventually(fresh, timeout, what, 0.05, (requests.RequestException,))


def cast(session: requests.Session, vote_url: str, option: str) -> requests.Response:
    """One form vote as a browser sends it; returns the 303 response (not followed)."""
    response = post_vote(session, vote_url, option, form=True)
    assert response.status_code == 303, f"vote not acknowledged: {response.status_code} {response.text[:200]}"
    return response


def run_voting_scenario(
    vote_url: str, result_url: str, voters: int = 30, changers: int = 10, timeout: float = 60
) -> dict:
    """Vote as ``voters`` distinct voters, ``changers`` of whom change their mind, then check totals.

    Expected totals are relative to what the results showed before the scenario started.
    """
    before = settled_totals(result_url)
    final: dict[int, str] = {}
    sessions = [requests.Session() for _ in range(voters)]
    try:
        for i, session in enumerate(sessions):
            final[i] = "a" if i % 3 else "b"
            cast(session, vote_url, final[i])
        for i in range(changers):
            final[i] = "b" if final[i] == "a" else "a"
            cast(sessions[i], vote_url, final[i])
    finally:
        for session in sessions:
            session.close()
    expected = {o: before[o] + sum(1 for v in final.values() if v == o) for o in OPTIONS}
    expected["total"] = sum(expected.values())
    seen, seconds = wait_for_totals(result_url, expected, timeout)
    return {"expected": expected, "seen": seen, "seconds": seconds}


def served_by(vote_url: str, n: int) -> set[str]:
    """Hostnames that served ``n`` fresh requests for the vote page (new connection each time)."""
    hosts = set()
    for _ in range(n):
        response = requests.get(f"{vote_url}/", timeout=5, headers={"Connection": "close"})
        response.raise_for_status()
        match = HOSTNAME_RE.search(response.text)
        hosts.add(match.group(1) if match else response.headers.get("X-Served-By", "?"))
    return hosts
