"""End to end: the compose stack built from this repository, driven over HTTP like a browser."""

import json

import pytest
import requests

from loadgen.voters import VotePlan, fetch_totals, post_vote, run, wait_for_totals
from tests.support import scenario
from voting_common.contract import DEAD_LETTER_STREAM, STREAM

pytestmark = pytest.mark.e2e


def test_votes_of_distinct_voters_some_changing_their_minds_add_up_exactly(stack):
    rows_before = int(stack.psql("SELECT count(*) FROM votes") or 0)
    scenario.run_voting_scenario(stack.vote_url, stack.result_url, voters=40, changers=15, timeout=30)
    # The totals matched (the scenario waits for that); a voter who changed their mind is one row.
    assert int(stack.psql("SELECT count(*) FROM votes")) - rows_before == 40


def test_api_vote_and_json_results(stack):
    before = fetch_totals(stack.result_url)
    with requests.Session() as voter:
        assert post_vote(voter, stack.vote_url, "b", timeout=5).status_code == 202
        response = post_vote(voter, stack.vote_url, "nope", timeout=5)
        assert response.status_code == 400 and response.json()["error"]
    wait_for_totals(stack.result_url, {"b": before["b"] + 1, "total": before["total"] + 1}, timeout=15)


def test_health_endpoints_answer_in_one_shape_and_metrics_are_the_services_own(stack):
    """`up --wait` proved the health checks pass; here: what the endpoints say, and whose metrics."""
    for url, service, metric in (
        (stack.vote_url, "vote", "vote_votes_accepted_total"),
        (stack.result_url, "result", "result_db_queries_total"),
    ):
        for path in ("/healthz", "/readyz"):
            response = requests.get(f"{url}{path}", timeout=5)
            assert response.status_code == 200
            body = response.json()
            assert body["status"] == "ok" and body["service"] == service and body["host"], body
        # /metrics is not on the published port, only on the metrics port inside the container.
        assert requests.get(f"{url}/metrics", timeout=5).status_code == 404
        assert f"# TYPE {metric} counter" in inside(stack, service, "9090/metrics")
    worker = json.loads(inside(stack, "worker", "8080/readyz"))
    assert worker["status"] == "ok" and worker["service"] == "worker"


def inside(stack, service: str, where: str) -> str:
    """What ``http://127.0.0.1:<where>`` answers inside the service's container."""
    code = f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{where}').read().decode())"
    return stack.compose("exec", "-T", service, "python", "-c", code).stdout


def test_redis_refuses_clients_without_the_password(stack):
    """Another container on the stack's network reaches Redis but, without the password, queues nothing."""
    refused = stack.compose("exec", "-T", "vote", "python", "-c", INTRUDER).stdout.split()
    assert refused == ["AuthenticationError", "AuthenticationError"]
    # redis-cli in the redis container itself, but without the password
    bare = stack.compose("exec", "-T", "redis", "redis-cli", "XADD", STREAM, "*", "voter", MARKER, "vote", "a")
    assert "NOAUTH" in bare.stdout + bare.stderr
    # Had an XADD got through, its entry would be in the stream or (malformed) in the dead letters.
    for stream in (STREAM, DEAD_LETTER_STREAM):
        assert MARKER not in stack.redis_cli("XRANGE", stream, "-", "+")  # authenticated: REDIS_PASSWORD


MARKER = "intruder-without-password"
# From the vote container (it has redis-py): an XADD without a password, then with a wrong one.
INTRUDER = f"""
import redis
for password in (None, "not-the-password"):
    try:
        client = redis.Redis(host="redis", password=password, socket_timeout=5)
        client.xadd({STREAM!r}, {{"voter": {MARKER!r}, "vote": "a"}})
        print("accepted")
    except redis.RedisError as exc:
        print(type(exc).__name__)
"""


def test_pages_are_served_with_their_own_assets(stack):
    for url in (stack.vote_url, stack.result_url):
        page = requests.get(url, timeout=5)
        assert page.status_code == 200 and "data-hostname" in page.text
        assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
        assert requests.get(f"{url}/static/common/base.css", timeout=5).status_code == 200


def test_load_generator_totals_match_exactly(stack):
    before = fetch_totals(stack.result_url)
    plan = VotePlan(voters=600, share_a=0.6, change_share=0.3, seed=20261129)
    outcome = run(stack.vote_url, plan, concurrency=8)
    assert outcome.gave_up == 0 and outcome.acknowledged == outcome.intended
    added = plan.expected()
    assert outcome.acknowledged_totals() == added
    wait_for_totals(stack.result_url, {k: before[k] + added[k] for k in added}, timeout=30)
