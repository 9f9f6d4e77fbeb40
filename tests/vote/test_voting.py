import pytest

from tooling import metrics
from voting_common.contract import STREAM

pytestmark = pytest.mark.integration


def _stream(redis_client):
    return redis_client.xrange(STREAM)


def test_page_shows_options_and_the_serving_host(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Cats" in html and "Dogs" in html
    assert 'data-hostname="' in html
    assert page.headers["X-Served-By"]


def test_form_vote_is_queued_then_redirected_with_a_voter_cookie(client, redis_client):
    response = client.post("/", data={"vote": "a"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/?voted=a")
    cookie = client.get_cookie("voter_id")
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.max_age >= 365 * 24 * 3600
    entries = _stream(redis_client)
    assert [fields for _id, fields in entries] == [{"voter": cookie.value, "vote": "a"}]


def test_voting_again_keeps_the_same_voter_and_shows_the_choice(client, redis_client):
    client.post("/", data={"vote": "a"})
    client.post("/", data={"vote": "b"})
    voters = {fields["voter"] for _id, fields in _stream(redis_client)}
    assert len(voters) == 1
    page = client.get("/?voted=b").get_data(as_text=True)
    assert "Your vote for Dogs was recorded" in page
    assert 'aria-pressed="true"' in page


def test_a_malformed_cookie_is_replaced_never_stored(client, redis_client):
    client.set_cookie("voter_id", "DROP TABLE votes")
    client.post("/", data={"vote": "b"})
    ((_id, fields),) = _stream(redis_client)
    assert fields["voter"] != "DROP TABLE votes"
    assert client.get_cookie("voter_id").value == fields["voter"]


@pytest.mark.parametrize("data", [{"vote": "c"}, {"vote": ""}, {}, {"choice": "a"}])
def test_bad_form_input_is_400_and_nothing_is_queued(client, redis_client, data):
    response = client.post("/", data=data)
    assert response.status_code == 400
    assert "vote" in response.get_data(as_text=True)
    assert _stream(redis_client) == []


def test_api_vote_is_202_json(client, redis_client):
    response = client.post("/api/vote", json={"vote": "b"})
    assert response.status_code == 202
    assert response.json["status"] == "accepted" and response.json["vote"] == "b"
    ((entry_id, fields),) = _stream(redis_client)
    assert response.json["id"] == entry_id and fields["vote"] == "b"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "vote=a", "content_type": "application/x-www-form-urlencoded"},
        {"data": "{not json", "content_type": "application/json"},
        {"json": ["a"]},
        {"json": {"vote": 1}},
        {"json": {"vote": "c"}},
        {"json": {}},
    ],
)
def test_api_rejects_bad_bodies_with_a_json_error(client, redis_client, kwargs):
    response = client.post("/api/vote", **kwargs)
    assert response.status_code == 400
    assert response.json["error"]
    assert _stream(redis_client) == []


def test_oversized_bodies_are_413(client, redis_client):
    assert client.post("/", data={"vote": "a", "pad": "x" * 10_000}).status_code == 413
    assert client.post("/api/vote", json={"vote": "a", "pad": "x" * 10_000}).status_code == 413
    assert _stream(redis_client) == []


def test_unknown_paths_and_methods_are_4xx(client):
    assert client.get("/nope").status_code == 404
    assert client.put("/").status_code == 405


def test_redis_down_is_503_with_a_clear_message(down_app):
    client = down_app.test_client()
    form = client.post("/", data={"vote": "a"})
    assert form.status_code == 503 and "not recorded" in form.get_data(as_text=True)
    api = client.post("/api/vote", json={"vote": "a"})
    assert api.status_code == 503 and "not recorded" in api.json["error"]
    assert client.get_cookie("voter_id") is None  # nothing acknowledged, nothing remembered


def test_health_and_readiness(client, down_app):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    down = down_app.test_client()
    assert down.get("/healthz").status_code == 200
    ready = down.get("/readyz")
    assert ready.status_code == 503 and "redis" in ready.json["reason"]


def test_metrics_count_accepted_and_rejected_votes(client):
    from prometheus_client import generate_latest  # this process's registry: the app runs in it here

    def counts() -> tuple[float, float]:
        text = generate_latest().decode()
        return (
            metrics.total(text, "vote_votes_accepted_total", option="a"),
            metrics.total(text, "vote_votes_rejected_total", reason="bad_option"),
        )

    before = counts()
    client.post("/", data={"vote": "a"})
    client.post("/", data={"vote": "zzz"})
    after = counts()
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_metrics_are_not_served_on_the_pages_port(client):
    response = client.get("/metrics")
    assert response.status_code == 404 and b"vote_votes_accepted_total" not in response.data
