"""A TCP forwarder: one fixed local address in front of a service whose port may change.

Docker chooses a published port anew each time a container starts, so a service restarted
mid-test comes back elsewhere. The forwarder listens on a port the OS gave it (held from the
start, so nobody else can take it) and relays each new connection to wherever ``resolve`` says
the service is now. While the service is down, a connection is closed at once, as it would be by
a stopped server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

Address = tuple[str, int]


class Forwarder:
    def __init__(self, resolve: Callable[[], Address | None], connect_timeout: float = 2.0) -> None:
        self.resolve = resolve
        self.connect_timeout = connect_timeout
        self._target: Address | None = None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name=f"forward-{self.port}", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _connect(self) -> socket.socket | None:
        """To the last known address; if that fails, to a freshly resolved one."""
        for fresh in (False, True):
            if fresh or self._target is None:
                self._target = self.resolve()
            if self._target is None:
                return None
            try:
                return socket.create_connection(self._target, timeout=self.connect_timeout)
            except OSError:
                continue
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream = self._connect()
        if upstream is None:
            client.close()
            return
        upstream.settimeout(None)
        pair = _Pair(client, upstream)
        threading.Thread(target=pair.pump, args=(upstream, client), daemon=True).start()
        pair.pump(client, upstream)


class _Pair:
    """A client connection and its upstream, copied both ways; closed when both directions end."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.sockets = (client, upstream)
        self.running = 2
        self.lock = threading.Lock()

    def pump(self, src: socket.socket, dst: socket.socket) -> None:
        """Copy ``src`` to ``dst`` until end of file; an error on either side ends both directions."""
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
        finally:
            with self.lock:
                self.running -= 1
                last = self.running == 0
            if last:
                for s in self.sockets:
                    s.close()
