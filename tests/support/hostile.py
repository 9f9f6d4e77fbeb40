"""Hostile clients, and an ordinary voter and reader timed while they are held open.

Shared by the availability suite (compose host ports) and the live kind suite (NodePorts). Every
pattern is bounded: a fixed number of connections, held for a fixed time, from one thread that
wakes every ``tick_s`` (a connection the server closed is opened again at most once a tick);
traffic goes only to the address given (the run's own services).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import functools
import math
import secrets
import socket
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import requests

from loadgen.voters import post_vote
from voting_common.contract import OPTIONS

Address = tuple[str, int]


@dataclass(frozen=True)
class Pattern:
    """What a hostile connection sends first, then (``drip``) every tick; and whether it reads answers."""

    first: bytes
    drip: bytes = b""
    reads: bool = True


SLOW_HEADERS = Pattern(b"POST /api/vote HTTP/1.1\r\nHost: vote\r\n", b"X-Slow: 1\r\n")
SLOW_BODY = Pattern(
    b"POST /api/vote HTTP/1.1\r\nHost: vote\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n",
    b" ",
)
IDLE_KEEPALIVE = Pattern(b"GET /healthz HTTP/1.1\r\nHost: vote\r\n\r\n")  # one request, then nothing
SILENT = Pattern(b"")  # a connection that never sends a byte

RECEIVE_BUFFER = 4096  # a never-reading connection's receive window: the server's sends soon block
TCP_ESTABLISHED = 1  # the first byte of Linux's struct tcp_info is the connection's state


@dataclass
class Held:
    """What the server did to the hostile connections: when each was cut, after how long.

    A connection's life runs from its connect, or for one that never reads from the last moment it
    was seen receiving (its answers no longer fit: the server's send is blocked from then on)."""

    count: int
    open_now: int = 0  # after the hostile loop's last look (cut ones already opened again)
    lifetimes: list[float] = field(default_factory=list)  # seconds from the life's start to the server's close
    received_at_cut: list[int] = field(default_factory=list)  # bytes a never-reading one had queued unread

    @property
    def cut(self) -> int:
        return len(self.lifetimes)


@contextlib.contextmanager
def hold(address: Address, count: int, pattern: Pattern, seconds: float, tick_s: float = 0.5) -> Iterator[Held]:
    """``count`` connections sending ``pattern`` for up to ``seconds`` (a cut one is opened again)."""
    held = Held(count)
    stop = threading.Event()
    since: dict[socket.socket, float] = {}  # when each connection's life began (see Held)
    queued: dict[socket.socket, int] = {}

    def connect() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if not pattern.reads:  # before connecting: the window is agreed in the handshake
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.settimeout(5)
        try:
            sock.connect(address)
            sock.sendall(pattern.first)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        since[sock], queued[sock] = time.monotonic(), 0

    def closed_by_server(sock: socket.socket) -> bool:
        if not pattern.reads:
            if sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == TCP_ESTABLISHED:
                unread = array.array("i", [0])  # bytes received and not read, without reading them
                fcntl.ioctl(sock, termios.FIONREAD, unread)
                if unread[0] > queued[sock]:
                    since[sock], queued[sock] = time.monotonic(), unread[0]
                return False
            held.received_at_cut.append(queued[sock])
            return True
        try:
            while sock.recv(65536):  # an answer (e.g. to the keep-alive request): read on
                pass
            return True  # end of file: the server closed it
        except BlockingIOError:
            return False
        except OSError:
            return True

    def run() -> None:
        deadline = time.monotonic() + seconds
        while not stop.wait(tick_s) and time.monotonic() < deadline:  # once a tick: at most count reconnects
            for sock in list(since):
                if closed_by_server(sock):
                    held.lifetimes.append(time.monotonic() - since.pop(sock))
                    del queued[sock]
                    sock.close()
                elif pattern.drip:
                    with contextlib.suppress(OSError):
                        sock.send(pattern.drip)
            while len(since) < count and not stop.is_set():
                try:
                    connect()
                except OSError:
                    break
            held.open_now = len(since)

    for _ in range(count):
        connect()
    held.open_now = len(since)
    thread = threading.Thread(target=run, name="hostile", daemon=True)
    thread.start()
    try:
        yield held
    finally:
        stop.set()
        thread.join(seconds + 5)
        for sock in since:
            sock.close()


def status_of(address: Address, request: bytes) -> int:
    """The status the server answers ``request`` with (0 if it closed without one)."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(request)
        head = sock.recv(64)
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0


@dataclass
class Served:
    """An ordinary client's requests while the hostile ones were held: status and seconds of each."""

    results: list[tuple[int, float]] = field(default_factory=list)
    acked: dict[str, str] = field(default_factory=dict)  # voter id -> option, for each 202


def ordinary_voter(vote_url: str, result_url: str, n: int, timeout_s: float) -> Served:
    """``n`` new voters, one vote each, and a results read after each, one after another."""
    served = Served()

    def timed(call: Callable[[], requests.Response]) -> requests.Response | None:
        started = time.monotonic()
        try:
            response = call()
        except requests.RequestException:
            response = None
        served.results.append((0 if response is None else response.status_code, time.monotonic() - started))
        return response

    for i in range(n):
        voter, option = secrets.token_hex(16), OPTIONS[i % len(OPTIONS)]
        response = timed(functools.partial(post_vote, None, vote_url, option, voter, timeout=timeout_s))
        if response is not None and response.status_code == 202:
            served.acked[voter] = option
        timed(functools.partial(requests.get, f"{result_url}/api/results", timeout=timeout_s))
    return served


def assert_prompt(served: Served, keepalive_s: float) -> None:
    """Every ordinary request answered, none waiting for a hostile connection to be cut (the shortest
    life the server gives one is ``keepalive_s``), and 95% of them within a fifth of that."""
    times = sorted(t for _, t in served.results)
    ok_share = sum(status in (200, 202) for status, _ in served.results) / len(served.results)
    p95 = times[max(0, math.ceil(0.95 * len(times)) - 1)]
    print(f"ok share {ok_share:.2f}, p95 {p95 * 1000:.0f} ms, slowest {times[-1] * 1000:.0f} ms")
    assert ok_share == 1.0, served.results
    assert times[-1] <= keepalive_s and p95 <= keepalive_s / 5, times


def expected_totals(before: dict[str, int], served: Served) -> dict[str, int]:
    """The totals once every vote the ordinary voter had acknowledged is counted, once."""
    totals = {o: before[o] + sum(v == o for v in served.acked.values()) for o in OPTIONS}
    return {**totals, "total": before["total"] + len(served.acked)}


def address_of(url: str) -> Address:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)
