"""The vote service: a page with two options; each vote goes to a Redis stream."""

from __future__ import annotations

import redis
from flask import Flask

from voting_common import web
from voting_common.connections import redis_client

from .settings import VoteSettings

HEALTH_TIMEOUT_S = 1.0


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    settings = (test_config or {}).get("SETTINGS") or VoteSettings()
    app.config.update(SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    if test_config:
        app.config.update(test_config)
    # WAIT holds its reply for up to its own timeout: the socket must wait longer than that.
    waits_s = settings.redis_wait_timeout_ms / 1000 if settings.redis_wait_replicas else 0
    app.extensions["redis"] = redis_client(settings, block_timeout=waits_s)
    # Its own client with a short timeout: the check answers within a probe's 2 s even when Redis hangs.
    health_redis = redis_client(settings, timeout=HEALTH_TIMEOUT_S)

    def redis_ready() -> str | None:
        """Redis answers. The Kubernetes probe skips this (``/readyz?exclude=redis``): without Redis
        the pod still serves its page, which says voting is paused, instead of refusing connections."""
        try:
            health_redis.ping()
        except redis.RedisError as exc:
            return f"redis unreachable: {exc}"
        return None

    web.init_app(app, "vote", {"redis": redis_ready}, settings.log_level)

    from . import voting

    app.register_blueprint(voting.bp)
    return app
