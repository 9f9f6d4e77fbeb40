"""Gunicorn settings shared by vote and result (``gunicorn -c python:voting_common.gunicorn_conf``).

Tunable from the environment: PORT, WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_WORKER_CLASS,
GUNICORN_WORKER_CONNECTIONS, ACCESS_LOG. SIGTERM lets in-flight requests finish (graceful_timeout).
"""

import os
import shutil
import tempfile

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "2000"))
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "20"))
timeout = 30
keepalive = 5
errorlog = "-"
accesslog = "-" if os.environ.get("ACCESS_LOG", "").lower() in {"1", "true", "yes"} else None
access_log_format = 'access method=%(m)s path="%(U)s" status=%(s)s bytes=%(B)s ms=%(M)s'
# No gunicornc control socket: nothing uses it, and under a read-only root filesystem its default
# place ($HOME/.gunicorn) cannot be created, which gunicorn would log as an error on every start.
control_socket_disable = True

# Metrics from all workers are merged through files in this folder (prometheus-client multiprocess
# mode). It must be set before any worker imports prometheus_client.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"metrics-{bind.rsplit(':', 1)[1]}")
)


def on_starting(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    if worker_class == "gevent":
        # psycopg2 would block the whole event loop (every viewer) while it waits on Postgres.
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()
