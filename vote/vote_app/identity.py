"""Who is voting: a random voter id in an HttpOnly cookie, never taken from the client unchecked."""

from __future__ import annotations

import secrets

from flask import current_app, request
from werkzeug.http import dump_cookie
from werkzeug.wrappers import Response as BaseResponse

from voting_common.contract import is_option, is_voter_id

VOTER_COOKIE = "voter_id"
CHOICE_COOKIE = "vote"  # only for showing the voter their choice; the vote itself is in Redis


def current_voter_id() -> str | None:
    value = request.cookies.get(VOTER_COOKIE)
    return value if is_voter_id(value) else None


def voter_id_for_request() -> str:
    """The caller's voter id, or a fresh one if the cookie is missing or malformed."""
    return current_voter_id() or secrets.token_hex(16)


def current_choice() -> str | None:
    value = request.cookies.get(CHOICE_COOKIE)
    return value if is_option(value) else None


def remember(response: BaseResponse, voter_id: str, choice: str) -> BaseResponse:
    """Both cookies with Max-Age alone: every browser honours it, and formatting the redundant
    Expires date twice was a measurable share of a vote's CPU."""
    settings = current_app.config["SETTINGS"]
    for name, value in ((VOTER_COOKIE, voter_id), (CHOICE_COOKIE, choice)):
        cookie = dump_cookie(
            name,
            value,
            max_age=settings.cookie_max_age,
            httponly=True,
            samesite="Lax",
            secure=settings.cookie_secure,
            sync_expires=False,
        )
        response.headers.add("Set-Cookie", cookie)
    return response
