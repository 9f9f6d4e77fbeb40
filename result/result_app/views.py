"""The results page, its JSON API and the Server-Sent Events stream."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, render_template, stream_with_context

from voting_common.contract import OPTIONS
from voting_common.web import HOSTNAME

from .tally import COUNTING_STALLED, STALE, VIEWERS, VIEWERS_REFUSED, Refresher, Snapshot

bp = Blueprint("results", __name__)


def get_refresher() -> Refresher:
    """The app's refresher, started by the first request of any kind (see ``start_refresher``)."""
    return current_app.extensions["refresher"]


@bp.before_app_request
def start_refresher() -> None:
    """The factory starts nothing; a served app's first request does, whatever it asks for. That is
    its health check or readiness probe within seconds, even a probe that skips the database
    (Kubernetes: ``/readyz?exclude=postgres``), so the first person gets live numbers."""
    get_refresher().start()


def iso_utc(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payload(snap: Snapshot) -> dict:
    """The JSON shape of the API and of each SSE event. ``options`` is null when unknown.

    Staleness is judged here, when asked, from ``as_of``: past ``stale_after_s`` the last numbers
    are still given but the state says they are not live. Counting is judged the same way: when it
    has not been current for ``counting_stall_after_s`` the state is ``counting_stalled``, with
    ``stalled_since`` and the votes the worker last saw ``waiting`` (null: no worker reporting).
    Stale wins: numbers that cannot be read say nothing about counting."""
    settings = current_app.config["SETTINGS"]
    labels = settings.labels()
    if snap.counts is None:
        return {"options": None, "total": None, "state": snap.state, "error": snap.error, "as_of": None}
    options = [{"id": o, "label": labels[o], "votes": snap.counts.get(o, 0)} for o in OPTIONS]
    body = {
        "options": options,
        "total": sum(o["votes"] for o in options),
        "state": snap.state,
        "as_of": iso_utc(snap.as_of),
    }
    stale = not_live(snap)
    if stale:
        body["state"] = STALE
        body["error"] = stale
        return body
    now, stall_after_s = time.time(), settings.counting_stall_after_s
    since = snap.counting_stalled_since(now, stall_after_s)
    if since is not None and snap.counting is not None:
        reporting = snap.worker_reporting(now, stall_after_s)
        body["state"] = COUNTING_STALLED
        body["stalled_since"] = iso_utc(since)
        body["waiting"] = snap.counting.waiting if reporting else None
        body["error"] = (
            f"counting stalled: {snap.counting.waiting} votes waiting, none counted since {body['stalled_since']}"
            if reporting
            else f"counting stalled: no worker has reported since {body['stalled_since']}; votes may be waiting"
        )
    return body


def not_live(snap: Snapshot) -> str | None:
    """Why the numbers of ``snap`` are not live (older than ``stale_after_s``), or None."""
    if not snap.stale(time.time(), current_app.config["SETTINGS"].stale_after_s):
        return None
    return "results not live: the database is not answering" + (f" ({snap.error})" if snap.error else "")


@bp.get("/")
def index():
    snap = get_refresher().snapshot
    settings = current_app.config["SETTINGS"]
    return render_template(
        "index.html",
        results=payload(snap),
        labels=settings.labels(),
        hostname=HOSTNAME,
        watchdog_s=settings.stream_watchdog_s,
    )


@bp.get("/api/results")
def api_results():
    snap = get_refresher().snapshot
    body = payload(snap)
    if snap.counts is None:
        body["error"] = f"results unavailable: {snap.state.replace('_', ' ')}"
    # 503 whenever the numbers are not live (stale, or counting stalled), so a monitor can alert on
    # the status alone.
    status = 503 if snap.counts is None or body["state"] in (STALE, COUNTING_STALLED) else 200
    return jsonify(body), status


class ViewerSlots:
    """The open event streams of this process, at most ``limit`` (one greenlet each under gevent)."""

    def __init__(self) -> None:
        self.open = 0
        self._lock = threading.Lock()

    def take(self, limit: int) -> bool:
        with self._lock:
            if self.open >= limit:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1


SLOTS = ViewerSlots()


@bp.get("/stream")
def stream():
    refresher = get_refresher()
    settings = current_app.config["SETTINGS"]
    if not SLOTS.take(settings.max_viewers):
        VIEWERS_REFUSED.inc()
        retry = settings.viewers_retry_after_s
        body = {"error": "too many live viewers on this server: try again shortly", "retry_after_s": retry}
        return jsonify(body), 503, {"Retry-After": str(retry)}

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

    response = Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"X-Accel-Buffering": "no"},  # Cache-Control: no-store, as every dynamic response
    )
    response.call_on_close(SLOTS.give_back)  # also when the stream ends before its first event
    return response


def ready() -> str | None:
    """Whether the numbers are live (answered at once, from the snapshot: never waits on Postgres).

    The Kubernetes probe skips it (``/readyz?exclude=postgres``): without the database the page still
    gives a useful answer, the last numbers marked not live."""
    snap = get_refresher().snapshot
    if snap.counts is None:
        return f"results not readable: {snap.state}" + (f" ({snap.error})" if snap.error else "")
    return not_live(snap)
