"""End to end: the compose stack built from this repository, driven over HTTP like a browser."""

import pytest
import requests

from tests.support import scenario

pytestmark = pytest.mark.e2e


def test_votes_of_distinct_voters_some_changing_their_minds_add_up_exactly(stack):
    outcome = scenario.run_voting_scenario(stack.vote_url, stack.result_url, voters=40, changers=15, timeout=30)
    assert outcome["seen"]["total"] == outcome["expected"]["total"]


def test_api_vote_and_json_results(stack):
    before = scenario.fetch_results(stack.result_url)
    with requests.Session() as voter:
        response = voter.post(f"{stack.vote_url}/api/vote", json={"vote": "b"}, timeout=5)
        assert response.status_code == 202
        response = voter.post(f"{stack.vote_url}/api/vote", json={"vote": "nope"}, timeout=5)
        assert response.status_code == 400 and response.json()["error"]
    scenario.wait_for_totals(stack.result_url, {"b": before["b"] + 1, "total": before["total"] + 1}, timeout=15)


def test_every_service_reports_healthy(stack):
    ps = stack.compose("ps", "--format", "{{.Service}} {{.Health}}").stdout.split("\n")
    health = dict(line.split(" ", 1) for line in ps if line.strip())
    assert health == {s: "healthy" for s in ("vote", "result", "worker", "redis", "db")}
    for url in (stack.vote_url, stack.result_url):
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 200
        assert "# HELP" in requests.get(f"{url}/metrics", timeout=5).text


def test_pages_are_served_with_their_own_assets(stack):
    for url in (stack.vote_url, stack.result_url):
        page = requests.get(url, timeout=5)
        assert page.status_code == 200 and "data-hostname" in page.text
        assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
        assert requests.get(f"{url}/static/common/base.css", timeout=5).status_code == 200


def test_load_generator_totals_match_exactly(stack):
    from loadgen.voters import VotePlan, run, wait_for_totals

    before = scenario.fetch_results(stack.result_url)
    plan = VotePlan(voters=600, share_a=0.6, change_share=0.3, seed=20261129)
    outcome = run(stack.vote_url, plan, concurrency=8)
    assert outcome.gave_up == 0 and outcome.acknowledged == outcome.intended
    added = plan.expected()
    assert outcome.acknowledged_totals() == added
    wait_for_totals(stack.result_url, {k: before[k] + added[k] for k in added}, timeout_s=30)
