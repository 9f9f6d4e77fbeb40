"""Property-based tests of the result service's HTTP edge, against real Postgres (hypothesis).

Whatever the method, path, query, headers, cookies or body: never a 5xx; the API's JSON always has
both options and a total that adds up; an unknown path is a 404; a known one with a method it does
not serve is a 405.
"""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.support.http_edge import METHODS, PROPERTY_SETTINGS, as_sent, assert_routed, header_text, path_segments
from tooling.waiting import eventually
from voting_common.contract import OPTIONS

pytestmark = pytest.mark.integration

# GET /stream never ends by design, so it is left out; other methods on it must be 405.
ROUTES = {"/": {"GET", "HEAD", "OPTIONS"}, "/api/results": {"GET", "HEAD", "OPTIONS"}, "/stream": {"OPTIONS"}}


@pytest.fixture
def ready_app(app):
    """The result app once its refresher has read the database (zero votes: no schema yet)."""
    eventually(lambda: app.extensions["refresher"].snapshot.counts is not None, 10, "a first read", 0.02)
    return app


@PROPERTY_SETTINGS
@given(
    query=st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=3),
    accept=st.none() | st.sampled_from(["application/json", "text/html", "*/*", "text/event-stream"]) | header_text,
    cookie=st.none() | header_text,
    data=st.binary(max_size=200),
    ctype=st.none() | header_text,
)
def test_the_results_api_always_answers_totals_that_add_up(ready_app, query, accept, cookie, data, ctype):
    headers = {k: v for k, v in (("Accept", accept), ("Cookie", cookie)) if v is not None}
    client = ready_app.test_client(use_cookies=False)
    response = client.get("/api/results", query_string=query, headers=headers, data=data, content_type=ctype)
    assert response.status_code == 200, response.get_data()[:200]
    body = response.get_json()
    assert tuple(o["id"] for o in body["options"]) == OPTIONS
    assert all(isinstance(o["votes"], int) and o["votes"] >= 0 for o in body["options"])
    assert body["total"] == sum(o["votes"] for o in body["options"])


@PROPERTY_SETTINGS
@given(
    segments=path_segments,
    known=st.sampled_from([None, *ROUTES]),
    method=st.sampled_from(METHODS),
    data=st.binary(max_size=100),
    accept=st.none() | header_text,
)
def test_any_method_and_path_is_never_5xx_and_unknown_paths_are_404(ready_app, segments, known, method, data, accept):
    path, decoded = (known, known) if known else as_sent(segments)
    assume(not (decoded == "/stream" and method in ("GET", "HEAD")))
    client = ready_app.test_client(use_cookies=False)
    response = client.open(path, method=method, data=data, headers={"Accept": accept} if accept else {})
    assert_routed(method, decoded, response.status_code, ROUTES, {200})
