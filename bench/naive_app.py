"""Benchmark baseline only (bind-mounted, never in an image): the naive vote handler.

One redis-py ``XADD`` per request, then the voter cookie and a 202: what a vote costs when each
request makes its own round trip to Redis. Served by the vote image under the identical gunicorn
command and configuration as the vote service and the bare baseline.
"""

import os
import secrets

import redis
from flask import Flask, jsonify, request

app = Flask(__name__)
r = redis.Redis(
    host=os.environ.get("REDIS_HOST", "redis"),
    port=int(os.environ.get("REDIS_PORT", "6379")),
    password=os.environ.get("REDIS_PASSWORD"),
    decode_responses=True,
)


@app.post("/api/vote")
def vote():
    option = request.get_json()["vote"]
    voter = request.cookies.get("voter_id") or secrets.token_hex(16)
    entry_id = r.xadd("votes", {"voter": voter, "vote": option})
    response = jsonify(status="accepted", vote=option, id=entry_id)
    response.status_code = 202
    response.set_cookie("voter_id", voter, httponly=True, samesite="Lax")
    return response


@app.get("/readyz")
def readyz():
    return "", 200
