"""One viewer over MAX_VIEWERS gets a prompt 503 with Retry-After, and a slot freed is a slot again."""

from result_app.views import SLOTS


def test_a_viewer_over_the_limit_is_refused_at_once_with_retry_after(make_down_app):
    app = make_down_app(max_viewers=2, viewers_retry_after_s=7)
    client = app.test_client()
    assert SLOTS.open == 0
    streams = [client.get("/stream", buffered=False) for _ in range(2)]
    for stream in streams:
        assert stream.status_code == 200 and next(iter(stream.response)).startswith(b"retry:")
    refused = client.get("/stream")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "7"
    assert refused.json["retry_after_s"] == 7 and "too many live viewers" in refused.json["error"]
    streams[1].close()  # in the order opened last first: each holds its own request context
    again = client.get("/stream", buffered=False)
    assert again.status_code == 200 and next(iter(again.response)).startswith(b"retry:")
    for stream in (again, streams[0]):
        stream.close()
    assert SLOTS.open == 0
