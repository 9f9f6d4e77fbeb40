"""Benchmark baseline only (bind-mounted, never in an image): a bare Flask endpoint answering 200.

Served by the vote image with the identical gunicorn command and configuration as the vote
service, so the ingest ratio measures what our request handling costs over Flask and gunicorn.
"""

from flask import Flask

app = Flask(__name__)


@app.post("/api/vote")
def vote():
    return "", 200


@app.get("/readyz")
def readyz():
    return "", 200
