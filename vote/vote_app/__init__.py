"""The vote service: a page with two options; each vote goes to a Redis stream."""

from __future__ import annotations

import redis
from flask import Flask

from voting_common import web
from voting_common.connections import redis_client

from .settings import VoteSettings


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    settings = (test_config or {}).get("SETTINGS") or VoteSettings()
    app.config.update(SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    if test_config:
        app.config.update(test_config)
    app.extensions["redis"] = redis_client(settings)

    def ready() -> str | None:
        try:
            app.extensions["redis"].ping()
        except redis.RedisError as exc:
            return f"redis unreachable: {exc}"
        return None

    web.init_app(app, "vote", ready, settings.log_level)

    from . import voting

    app.register_blueprint(voting.bp)
    return app
