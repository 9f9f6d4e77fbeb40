"""The result service: live totals read from Postgres by one refresher per process."""

from __future__ import annotations

from flask import Flask

from voting_common import web
from voting_common.connections import pg_connect

from .settings import ResultSettings
from .tally import Refresher


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    settings = (test_config or {}).get("SETTINGS") or ResultSettings()
    app.config.update(SETTINGS=settings)
    if test_config:
        app.config.update(test_config)

    refresher = Refresher(
        lambda: pg_connect(settings, application_name="result"),
        settings.refresh_interval_s,
        settings.backoff_cap_s,
        settings.stale_after_s,
        settings.counting_stall_after_s,
    )
    app.extensions["refresher"] = refresher

    from . import views

    web.init_app(app, "result", {"postgres": views.ready}, settings.log_level)
    app.register_blueprint(views.bp)
    return app
