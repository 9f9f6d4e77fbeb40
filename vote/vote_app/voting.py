"""The voting page and API. A vote is acknowledged (303 / 202) only after Redis accepted it."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from voting_common.contract import OPTIONS, is_option
from voting_common.web import HOSTNAME, error_response, wants_json

from . import identity
from .queue import REJECTED, QueueUnavailable, enqueue

bp = Blueprint("voting", __name__)
log = logging.getLogger(__name__)

UNAVAILABLE = "vote not recorded: the vote queue is unavailable, please try again"
RETRY_AFTER_S = "5"  # seconds: about how long a Redis restart takes


def _labels() -> dict[str, str]:
    return current_app.config["SETTINGS"].labels()


def _bad_option(value) -> str:
    if value is None:
        return "missing field 'vote'"
    return f"field 'vote' must be one of: {', '.join(OPTIONS)}"


@bp.before_request
def refuse_oversized_bodies():
    """A body over the limit is a 413 whatever its content type, even one no view would read."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit and request.content_length is not None and request.content_length > limit:
        REJECTED.labels("too_large").inc()
        raise RequestEntityTooLarge()


def paused(option: str):
    """A 503 a person can act on: the voting page again, saying voting is paused, with the choice
    they made kept on its button so one press sends it again (programs get the JSON error)."""
    if wants_json():
        response = jsonify(error=UNAVAILABLE, status=503)
    else:
        page = render_template(
            "index.html",
            labels=_labels(),
            choice=identity.current_choice(),
            confirmed=None,
            paused=option,
            hostname=HOSTNAME,
        )
        response = current_app.make_response(page)
    response.status_code = 503
    response.headers["Retry-After"] = RETRY_AFTER_S
    return response


@bp.get("/")
def index():
    choice = identity.current_choice()
    voted = request.args.get("voted")
    return render_template(
        "index.html",
        labels=_labels(),
        choice=choice,
        confirmed=choice if voted == choice else None,
        hostname=HOSTNAME,
    )


@bp.post("/")
def vote_form():
    option = request.form.get("vote")
    if not is_option(option):
        REJECTED.labels("bad_option").inc()
        return error_response(400, _bad_option(option))
    voter_id = identity.voter_id_for_request()
    try:
        enqueue(voter_id, option)
    except QueueUnavailable as exc:
        log.warning("vote not queued: %s", exc)
        return paused(option)
    response = redirect(url_for("voting.index", voted=option), code=303)
    return identity.remember(response, voter_id, option)


@bp.post("/api/vote")
def vote_api():
    if not request.is_json:
        REJECTED.labels("not_json").inc()
        return error_response(400, 'expected Content-Type: application/json and a body like {"vote": "a"}')
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        REJECTED.labels("not_json").inc()
        return error_response(400, 'body must be a JSON object like {"vote": "a"}')
    option = body.get("vote")
    if not is_option(option):
        REJECTED.labels("bad_option").inc()
        return error_response(400, _bad_option(option))
    voter_id = identity.voter_id_for_request()
    try:
        entry_id = enqueue(voter_id, option)
    except QueueUnavailable as exc:
        log.warning("vote not queued: %s", exc)
        return paused(option)
    response = jsonify(status="accepted", vote=option, id=entry_id)
    response.status_code = 202
    return identity.remember(response, voter_id, option)
