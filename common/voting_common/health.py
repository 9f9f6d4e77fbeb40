"""The one shape of ``/healthz`` and ``/readyz`` answers, for the web services and the worker alike."""

from __future__ import annotations

import socket

HOSTNAME = socket.gethostname()


def health_reply(service: str, reason: str | None) -> tuple[int, dict[str, str]]:
    """``200 {"status": "ok", ...}``, or ``503 {"status": "unavailable", "reason": ..., ...}``."""
    body = {"status": "unavailable" if reason else "ok", "service": service, "host": HOSTNAME}
    if reason:
        body["reason"] = reason
    return (503 if reason else 200), body
