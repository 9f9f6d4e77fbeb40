"""While Redis is not answering, a person sees the voting page say voting is paused, with the choice
they made kept on its button; programs get a JSON 503. Nothing is acknowledged or remembered."""

import re

import pytest


@pytest.mark.parametrize("headers", [{}, {"Accept": "text/html"}], ids=["no-accept", "html"])
def test_a_form_vote_while_redis_is_down_shows_the_page_saying_voting_is_paused(down_app, headers):
    client = down_app.test_client()
    response = client.post("/", data={"vote": "b"}, headers=headers)
    assert response.status_code == 503 and response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "Voting is paused: your vote for Dogs was not recorded" in page
    button = re.search(r'<button[^>]*id="vote-b"[^>]*>', page).group(0)
    assert "pending" in button and "autofocus" in button  # the choice kept, ready for one more press
    assert "pending" not in re.search(r'<button[^>]*id="vote-a"[^>]*>', page).group(0)
    assert client.get_cookie("voter_id") is None and client.get_cookie("vote") is None


def test_the_api_while_redis_is_down_is_a_json_503_with_retry_after(down_app):
    client = down_app.test_client()
    response = client.post("/api/vote", json={"vote": "a"})
    assert response.status_code == 503 and "not recorded" in response.json["error"]
    assert response.headers["Retry-After"] == "5"
    assert client.get_cookie("voter_id") is None  # nothing acknowledged, nothing remembered


def test_the_page_is_served_and_the_kubernetes_probe_ready_while_redis_is_down(down_app):
    client = down_app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz?exclude=redis").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "redis" in ready.json["reason"]
