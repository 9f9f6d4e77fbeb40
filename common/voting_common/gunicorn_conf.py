"""Gunicorn settings shared by vote and result (``gunicorn -c python:voting_common.gunicorn_conf``).

Tunable from the environment through ``GunicornSettings`` (PORT, METRICS_PORT (``/metrics``), WEB_CONCURRENCY,
GUNICORN_THREADS, GUNICORN_WORKER_CLASS, GUNICORN_WORKER_CONNECTIONS, GRACEFUL_TIMEOUT, ACCESS_LOG,
LOG_LEVEL, and what one client may cost: KEEPALIVE_S, REQUEST_BODY_TIMEOUT_S, SEND_TIMEOUT_S,
LIMIT_REQUEST_LINE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_FIELD_SIZE). SIGTERM lets in-flight requests
finish (graceful_timeout). Gunicorn's own lines (its error log and the access log) are logfmt, like the app's.
"""

import logging
import os
import shutil
import tempfile

from gunicorn.glogging import Logger

from voting_common.logs import LogfmtFormatter
from voting_common.settings import GunicornSettings

settings = GunicornSettings()

bind = f"0.0.0.0:{settings.port}"
workers = settings.web_concurrency
threads = settings.gunicorn_threads
worker_class = settings.gunicorn_worker_class
worker_connections = settings.gunicorn_worker_connections
graceful_timeout = settings.graceful_timeout
timeout = 30
# What one client may cost (async workers): its request headers must arrive, and an idle
# keep-alive connection is closed, within keepalive seconds; oversized headers get 400. Bodies and
# sends are bounded by ClientDeadlines (post_worker_init).
keepalive = settings.keepalive_s
limit_request_line = settings.limit_request_line
limit_request_fields = settings.limit_request_fields
limit_request_field_size = settings.limit_request_field_size
loglevel = settings.log_level.lower()
errorlog = "-"
accesslog = "-" if settings.access_log else None
logger_class = "voting_common.gunicorn_conf.LogfmtLogger"
# No gunicornc control socket: nothing uses it, and under a read-only root filesystem its default
# place ($HOME/.gunicorn) cannot be created, which gunicorn would log as an error on every start.
control_socket_disable = True

# Metrics from all workers are merged through files in this folder (prometheus-client multiprocess
# mode). It must be set before any worker imports prometheus_client.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"metrics-{settings.port}")
)


class LogfmtLogger(Logger):
    """Gunicorn's logger with the app's line format; one access line per request as fields."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(LogfmtFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        fields = {
            "method": req.method,
            "path": req.path,
            "status": resp.status_code if resp.status_code is not None else "-",
            "bytes": getattr(resp, "sent", None) or 0,
            "ms": int(request_time.total_seconds() * 1000),
        }
        self.access_log.log(logging.INFO, "access", extra={"fields": fields})


def on_starting(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def when_ready(server):
    """Serve /metrics (all workers merged) from the master, on a port of its own that no public
    Service or published port exposes; the pages' port has no /metrics."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    httpd, _ = start_http_server(settings.metrics_port, registry=registry)
    server.log.info("metrics listening at: http://0.0.0.0:%s/metrics", httpd.server_address[1])


def post_worker_init(worker):
    """Bound each request's body and each send (gevent only: the bounds are gevent timeouts)."""
    if "gevent" in settings.gunicorn_worker_class:
        from voting_common.deadlines import ClientDeadlines

        worker.wsgi = ClientDeadlines(worker.wsgi, settings.request_body_timeout_s, settings.send_timeout_s)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
