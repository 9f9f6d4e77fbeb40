"""Deadlines on what a client sends and takes, for gunicorn's gevent worker (``post_worker_init``).

gunicorn bounds the time to read a request's headers (``keepalive`` seconds, async workers), but
not its body, which the app reads later from ``wsgi.input``, nor a response the client does not take
(an event stream to a viewer that never reads). Without these bounds a slow or silent client holds
its connection, and a slot of the worker's pool, for as long as it likes.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Callable, Iterable
from typing import Any

import gevent

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class ClientDeadlines:
    """WSGI middleware: the whole request body within ``body_timeout_s`` (else ``408`` and the
    connection closed), and every send to the client within ``send_timeout_s`` (else it is cut).

    Bodies up to ``max_buffer`` bytes are read here, under the deadline, and handed to the app from
    memory; a larger declared body is left to the app, which refuses it (``413``) unread."""

    def __init__(self, app: WSGIApp, body_timeout_s: float, send_timeout_s: float, max_buffer: int = 65536) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s
        self.send_timeout_s = send_timeout_s
        self.max_buffer = max_buffer

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        if isinstance(sock, socket.socket):
            sock.settimeout(self.send_timeout_s)  # each send and receive; the body has its own total bound
        if _has_body(environ) and _declared_length(environ) <= self.max_buffer:
            body = self._read_body(environ["wsgi.input"])
            if body is None:
                start_response("408 Request Timeout", [("Content-Type", "text/plain")])
                _close_after(start_response)  # the rest of the body may still come: never read it
                return [b"request body too slow\n"]
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)

    def _read_body(self, stream: Any) -> bytes | None:
        """The body, or None when it did not arrive within the deadline (or the client stopped)."""
        try:
            with gevent.Timeout(self.body_timeout_s):
                return stream.read(self.max_buffer + 1)
        except (gevent.Timeout, OSError):
            return None


def _has_body(environ: dict[str, Any]) -> bool:
    return bool(environ.get("CONTENT_LENGTH")) or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def _declared_length(environ: dict[str, Any]) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _close_after(start_response: Callable) -> None:
    """Close the connection after this response (gunicorn ignores a ``Connection`` header from the app)."""
    force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
    if callable(force_close):
        force_close()
