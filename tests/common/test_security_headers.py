"""Security headers on every route family of vote and result (no Docker: the apps' dependencies
are unreachable, which also proves the headers are on error answers)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from result_app import create_app as create_result
from result_app.settings import ResultSettings
from vote_app import create_app as create_vote
from vote_app.settings import VoteSettings
from voting_common.security import content_security_policy, inline_style

FIXED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@pytest.fixture(scope="module")
def vote():
    settings = VoteSettings(redis_host="127.0.0.1", redis_port=1, redis_timeout=0.5)
    return create_vote({"TESTING": True, "SETTINGS": settings}).test_client()


@pytest.fixture(scope="module")
def result():
    settings = ResultSettings(
        postgres_host="127.0.0.1", postgres_port=1, postgres_connect_timeout=1, refresh_interval_s=0.05
    )
    app = create_result({"TESTING": True, "SETTINGS": settings})
    yield app.test_client()
    app.extensions["refresher"].stop()


def assert_secured(response, cache: str = "no-store") -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives.get("default-src") == "'self'", policy
    assert directives.get("script-src") == "'self'", policy
    assert directives.get("frame-ancestors") == "'none'", policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy
    for name, value in FIXED.items():
        assert response.headers.get(name) == value, (name, response.headers)
    assert response.headers.get("Cache-Control") == cache, response.headers


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/", {}, 200),  # the page
        ("POST", "/", {"data": {"vote": "a"}}, 503),  # the form (Redis unreachable)
        ("POST", "/", {"data": {"vote": "z"}}, 400),
        ("POST", "/api/vote", {"json": {"vote": "a"}}, 503),  # the API
        ("POST", "/api/vote", {"data": "x" * 5000, "content_type": "application/json"}, 413),
        ("GET", "/healthz", {}, 200),  # health
        ("GET", "/readyz", {}, 503),
        ("GET", "/nowhere", {}, 404),  # errors
        ("DELETE", "/", {}, 405),
    ],
)
def test_vote_routes_carry_the_security_headers_and_are_never_cached(vote, method, path, kwargs, status):
    response = vote.open(path, method=method, **kwargs)
    assert response.status_code == status
    assert_secured(response)


@pytest.mark.parametrize("path", ["/", "/api/results", "/healthz", "/readyz", "/nowhere"])
def test_result_routes_carry_the_security_headers_and_are_never_cached(result, path):
    response = result.get(path)
    assert_secured(response)


def test_the_event_stream_is_never_cached(result):
    response = result.get("/stream", buffered=False)
    try:
        assert response.mimetype == "text/event-stream"
        assert_secured(response)
    finally:
        response.close()


@pytest.mark.parametrize(
    ("client", "path"),
    [("vote", "/static/vote.js"), ("vote", "/static/common/base.css"), ("result", "/static/result.js")],
)
def test_static_files_carry_the_headers_and_are_revalidated(request, client, path):
    response = request.getfixturevalue(client).get(path)
    assert response.status_code == 200
    assert_secured(response, cache="no-cache")
    assert response.headers.get("ETag")


def test_an_inline_style_block_is_admitted_by_its_hash_only(vote):
    with vote.application.test_request_context("/"):
        from flask import g

        block = inline_style("#bar-a{width:75.0%}")
        policy = content_security_policy(g.csp_style_hashes)
    css = re.fullmatch(r"<style>(.*)</style>", str(block)).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"style-src 'self' 'sha256-{digest}';" in policy
    assert "style-src 'self';" in content_security_policy()
    with vote.application.test_request_context("/"), pytest.raises(ValueError):
        inline_style("</style><script>")
