import pytest
from prometheus_client import generate_latest

from tooling import metrics
from voting_common.contract import STREAM

pytestmark = pytest.mark.integration


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
    assert [fields for _id, fields in redis_client.xrange(STREAM)] == [{"voter": cookie.value, "vote": "a"}]


def test_voting_again_keeps_the_same_voter_and_shows_the_choice(client, redis_client):
    client.post("/", data={"vote": "a"})
    client.post("/", data={"vote": "b"})
    assert len({fields["voter"] for _id, fields in redis_client.xrange(STREAM)}) == 1
    page = client.get("/?voted=b").get_data(as_text=True)
    assert "Your vote for Dogs was recorded" in page
    assert 'aria-pressed="true"' in page


def test_a_malformed_cookie_is_replaced_never_stored(client, redis_client):
    client.set_cookie("voter_id", "DROP TABLE votes")
    client.post("/", data={"vote": "b"})
    ((_id, fields),) = redis_client.xrange(STREAM)
    assert fields["voter"] != "DROP TABLE votes"
    assert client.get_cookie("voter_id").value == fields["voter"]


def test_api_vote_is_202_json(client, redis_client):
    response = client.post("/api/vote", json={"vote": "b"})
    assert response.status_code == 202
    assert response.json["status"] == "accepted" and response.json["vote"] == "b"
    ((entry_id, fields),) = redis_client.xrange(STREAM)
    assert response.json["id"] == entry_id and fields["vote"] == "b"


PAD = "x" * 10_000


@pytest.mark.parametrize(
    ("path", "kwargs", "status"),
    [
        ("/", {"data": {"vote": "c"}}, 400),
        ("/", {"data": {"vote": ""}}, 400),
        ("/", {"data": {}}, 400),
        ("/", {"data": {"choice": "a"}}, 400),
        ("/", {"data": {"vote": "a", "pad": PAD}}, 413),
        ("/api/vote", {"data": "vote=a", "content_type": "application/x-www-form-urlencoded"}, 400),
        ("/api/vote", {"data": "{not json", "content_type": "application/json"}, 400),
        ("/api/vote", {"json": ["a"]}, 400),
        ("/api/vote", {"json": {"vote": 1}}, 400),
        ("/api/vote", {"json": {"vote": "c"}}, 400),
        ("/api/vote", {"json": {}}, 400),
        ("/api/vote", {"json": {"vote": "a", "pad": PAD}}, 413),
    ],
)
def test_bad_input_is_refused_saying_why_and_nothing_is_queued(client, redis_client, path, kwargs, status):
    response = client.post(path, **kwargs)
    assert response.status_code == status
    if status == 400:  # the form says what was wrong with the vote; the API, in JSON
        assert response.json["error"] if path == "/api/vote" else "vote" in response.get_data(as_text=True)
    assert redis_client.xrange(STREAM) == []


def test_healthy_and_ready_with_redis_up(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_metrics_count_accepted_and_rejected_votes(client):
    def counts() -> tuple[float, float]:  # this process's registry: the app runs in it here
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
