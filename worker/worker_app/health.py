"""A small HTTP server beside the worker loop: /healthz, /readyz and /metrics for probes."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from voting_common.health import health_reply

REFUSED = Counter("worker_health_connections_refused_total", "Health connections closed at once: all slots busy")


class HealthState:
    """What the loop reports about itself; read by the HTTP thread."""

    def __init__(self, stall_after_s: float = 60.0, counting_stall_after_s: float = 10.0) -> None:
        self.redis_ok = False
        self.postgres_ok = False
        self.last_beat = time.monotonic()
        self.stall_after_s = stall_after_s
        self.counting_stall_after_s = counting_stall_after_s
        self.waiting = 0  # votes seen waiting in Redis at the last look
        self.current_at = time.monotonic()  # last progress, or last look that found nothing waiting

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def saw_waiting(self, waiting: int) -> None:
        self.waiting = waiting
        if waiting == 0:
            self.current_at = time.monotonic()

    def progressed(self) -> None:
        self.current_at = time.monotonic()

    def seconds_behind(self) -> float:
        """Seconds since counting was last current (0 while votes are counted as they come)."""
        return 0.0 if self.waiting == 0 else time.monotonic() - self.current_at

    def counting_stalled(self) -> str | None:
        behind = self.seconds_behind()
        if behind <= self.counting_stall_after_s:
            return None
        return f"{self.waiting} votes waiting, none counted for {behind:.0f}s"

    def live(self) -> str | None:
        stalled = time.monotonic() - self.last_beat
        return f"loop stalled for {stalled:.0f}s" if stalled > self.stall_after_s else None

    def ready(self) -> str | None:
        missing = [name for name, ok in (("redis", self.redis_ok), ("postgres", self.postgres_ok)) if not ok]
        return f"not connected to {' and '.join(missing)}" if missing else self.counting_stalled()


class BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, but at most ``max_connections`` of them, each closed ``client_timeout_s``
    after it was accepted whatever the client does (a slow request line or headers, nothing read).
    A connection over the limit is closed at once: a probe retries, the worker loop never waits."""

    daemon_threads = True
    # socketserver's default backlog is 5: a burst of connections would wait unaccepted in the
    # kernel (retried SYNs) instead of being served or closed at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, client_timeout_s: float, max_connections: int):
        super().__init__(address, handler)
        self.client_timeout_s = client_timeout_s
        self.slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            REFUSED.inc()
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def handle_error(self, request, client_address) -> None:
        """A client that was too slow or went away is not the worker's error: nothing to print."""

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _DeadlineSocketReader(io.RawIOBase):
    """Reads a socket until a fixed deadline: each read may wait only for the time that is left."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("health client too slow")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


def serve(
    state: HealthState, port: int, client_timeout_s: float = 5.0, max_connections: int = 8
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            super().setup()
            deadline = time.monotonic() + client_timeout_s
            self.connection.settimeout(client_timeout_s)  # writes: a client that takes nothing
            self.rfile = io.BufferedReader(_DeadlineSocketReader(self.connection, deadline))

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/metrics":
                self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
            elif self.path in ("/healthz", "/readyz"):
                reason = state.live() if self.path == "/healthz" else state.ready()
                status, body = health_reply("worker", reason)
                self._send(status, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b'{"error": "not found"}', "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # probes every few seconds would drown the log
            pass

    server = BoundedHTTPServer(("0.0.0.0", port), Handler, client_timeout_s, max_connections)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
