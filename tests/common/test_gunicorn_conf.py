"""The shared gunicorn configuration, run for real: its settings come from the environment through a
typed settings object, every line gunicorn writes has the app's logfmt format, and /metrics is
served on the metrics port only, never on the pages' port."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import requests

from tooling import ROOT, metrics
from tooling.waiting import eventually
from voting_common.settings import GunicornSettings

LOGFMT = re.compile(r"\Ats=\S+Z level=[a-z]+ logger=\S+ msg=")


def test_settings_are_typed_and_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("ACCESS_LOG", "1")
    settings = GunicornSettings()
    assert (settings.web_concurrency, settings.access_log, settings.port) == (3, True, 8080)
    monkeypatch.setenv("WEB_CONCURRENCY", "0")
    with pytest.raises(ValueError, match="web_concurrency"):
        GunicornSettings()


def test_gunicorn_logs_in_logfmt_and_serves_metrics_on_their_own_port_only(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'common'}{os.pathsep}{ROOT / 'vote'}",
        "PORT": "0",
        "METRICS_PORT": "0",
        "WEB_CONCURRENCY": "1",
        "ACCESS_LOG": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "1",  # nothing listens there: /healthz does not need Redis
    }
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:voting_common.gunicorn_conf", "vote_app:create_app()"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=err,
        )
    try:

        def listening_port(pattern: str) -> int | None:
            found = re.search(pattern + r"http://0\.0\.0\.0:(\d+)", err_path.read_text())
            return int(found.group(1)) if found else None

        port = eventually(lambda: listening_port("Listening at: "), 30, "gunicorn to listen")
        metrics_port = eventually(lambda: listening_port("metrics listening at: "), 30, "the metrics server")
        eventually(
            lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok,
            30,
            "/healthz",
            0.2,
            (requests.RequestException,),
        )
        eventually(lambda: "path=/healthz" in out_path.read_text(), 10, "the access line")
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
        served = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert served.status_code == 200
        labels = {"method": "GET", "route": "/healthz", "status": "200"}
        assert metrics.total(served.text, "http_request_duration_seconds_count", **labels) >= 1
    finally:
        proc.terminate()
        proc.wait(30)
    lines = [line for text in (out_path.read_text(), err_path.read_text()) for line in text.splitlines()]
    assert any("logger=gunicorn.error" in line and "Booting worker" in line for line in lines), lines
    access = [line for line in lines if "logger=gunicorn.access" in line]
    assert any(re.search(r"method=GET path=/healthz status=200 bytes=\d+ ms=\d+", a) for a in access), access
    assert all(LOGFMT.match(line) for line in lines), [line for line in lines if not LOGFMT.match(line)]
