"""What the vote and result services' property tests share: hypothesis settings, the strategies of
methods, header text and paths, and the routing rule every answer obeys."""

from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,  # each example talks to a real Redis or Postgres
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "FOO"]
OTHER_ROUTES = {"/healthz", "/readyz"}  # /metrics is on a port of its own
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80)
path_segments = st.lists(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/"), min_size=1, max_size=12).filter(
        lambda s: s not in (".", "..")
    ),
    max_size=4,
)


def as_sent(segments: list[str]) -> tuple[str, str]:
    """The path as sent (each segment percent-encoded) and as the app routes it (decoded)."""
    return "/" + "/".join(quote(s, safe="") for s in segments), "/" + "/".join(segments)


def assert_routed(method: str, path: str, status: int, routes: dict[str, set[str]], served: set[int]) -> None:
    """Never a 5xx; a route answers one of ``served`` to its methods and 405 to others; any other
    path (but the probes and static files) is a 404."""
    assert status < 500, (method, path, status)
    if path in routes:
        assert status in served if method in routes[path] else status == 405, (method, path, status)
    elif path not in OTHER_ROUTES and not path.startswith("/static/"):
        assert status == 404, (method, path, status)
