"""The results page, its JSON API and the Server-Sent Events stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, jsonify, render_template, stream_with_context

from voting_common.contract import OPTIONS
from voting_common.web import HOSTNAME

from .tally import VIEWERS, Refresher, Snapshot

bp = Blueprint("results", __name__)


def get_refresher() -> Refresher:
    return current_app.extensions["refresher"]


def payload(snap: Snapshot) -> dict:
    """The JSON shape of the API and of each SSE event. ``options`` is null when unknown."""
    labels = current_app.config["SETTINGS"].labels()
    if snap.counts is None:
        return {"options": None, "total": None, "state": snap.state, "error": snap.error}
    options = [{"id": o, "label": labels[o], "votes": snap.counts.get(o, 0)} for o in OPTIONS]
    return {"options": options, "total": sum(o["votes"] for o in options), "state": snap.state}


@bp.get("/")
def index():
    snap = get_refresher().snapshot
    return render_template(
        "index.html", results=payload(snap), labels=current_app.config["SETTINGS"].labels(), hostname=HOSTNAME
    )


@bp.get("/api/results")
def api_results():
    snap = get_refresher().snapshot
    body = payload(snap)
    status = 200 if snap.counts is not None else 503
    if status == 503:
        body["error"] = f"results unavailable: {snap.state.replace('_', ' ')}"
    return jsonify(body), status


@bp.get("/stream")
def stream():
    refresher = get_refresher()
    settings = current_app.config["SETTINGS"]

    def events() -> Iterator[str]:
        VIEWERS.inc()
        try:
            yield "retry: 2000\n\n"
            seen = -1
            deadline = time.monotonic() + settings.stream_max_s
            while time.monotonic() < deadline:
                snap = refresher.wait_for_change(seen, timeout=settings.heartbeat_s)
                if snap.version == seen:
                    yield ": keep-alive\n\n"
                    continue
                seen = snap.version
                yield f"id: {seen}\ndata: {json.dumps(payload(snap), separators=(',', ':'))}\n\n"
        finally:
            VIEWERS.dec()

    return Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"X-Accel-Buffering": "no"},  # Cache-Control: no-store, as every dynamic response
    )


def ready() -> str | None:
    snap = get_refresher().snapshot
    if snap.counts is not None:
        return None
    return f"results not readable: {snap.state}" + (f" ({snap.error})" if snap.error else "")
