"""Flask pieces shared by the vote and result services: health, metrics, errors, hostname, headers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Blueprint, Flask, Response, g, jsonify, request
from prometheus_client import Histogram
from werkzeug.exceptions import HTTPException

from . import contract, logs, security
from .health import HOSTNAME, health_reply

log = logging.getLogger(__name__)

# Per route (the rule, never the raw path: bounded label values); for /stream, time to the first byte.
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer a request, by route, method and status",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

# A readiness check returns None when ready, or the reason it is not. Each has a name (its
# dependency) and must answer within its own bound, even when the dependency hangs.
ReadinessCheck = Callable[[], "str | None"]


def health_blueprint(service: str, checks: dict[str, ReadinessCheck]) -> Blueprint:
    """``/healthz`` (the process answers) and ``/readyz`` (every dependency answers).

    As in Kubernetes' own API server, ``/readyz?exclude=<name>`` skips a named check: a pod that
    still serves a useful page without that dependency is probed that way, and stays in its Service.
    """
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz():
        status, body = health_reply(service, None)
        return jsonify(body), status

    @bp.get("/readyz")
    def readyz():
        skipped = set(request.args.getlist("exclude"))
        reasons = [reason for name, check in checks.items() if name not in skipped and (reason := check())]
        status, body = health_reply(service, "; ".join(reasons) or None)
        return jsonify(body), status

    return bp


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, message: str):
    """A clear error for people (plain text) and programs (JSON)."""
    if wants_json():
        return jsonify(error=message, status=status), status
    return Response(f"{status} {message}\n", status=status, mimetype="text/plain")


def init_app(app: Flask, service: str, ready: dict[str, ReadinessCheck], log_level: str) -> None:
    """Install what every web service has: logging, health routes, request metrics, errors, X-Served-By,
    security headers."""
    logs.configure(log_level)
    security.install(app)
    # The ballot's option ids for the templates, from the contract: never restated in a page.
    app.jinja_env.globals["options"] = contract.OPTIONS
    app.register_blueprint(health_blueprint(service, ready))
    # Shared stylesheet, served by each app itself: no CDN, so the pages work offline.
    # The layout both pages extend (templates/layout.html) comes along with it.
    app.register_blueprint(
        Blueprint(
            "assets", __name__, static_folder="static", static_url_path="/static/common", template_folder="templates"
        )
    )

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def served_by(response: Response) -> Response:
        response.headers["X-Served-By"] = HOSTNAME
        started = g.get("started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "unmatched"
            REQUEST_SECONDS.labels(route, request.method, str(response.status_code)).observe(
                time.perf_counter() - started
            )
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error")
