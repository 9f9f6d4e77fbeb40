"""A deadline on every Postgres answer, kept by the client.

A frozen Postgres (a stopped process, a paused container, a full disk) still completes TCP
handshakes and answers keepalives from its kernel, so neither ``connect_timeout`` nor keepalives
notice it, and its own ``statement_timeout`` cannot fire. psycopg2 lets one wait callback do all
of its waiting: this one waits at most a deadline for each answer, then raises, and psycopg2
closes the connection. Under gevent the wait is cooperative, so other greenlets go on meanwhile.
"""

from __future__ import annotations

import select
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2
from psycopg2 import extensions

FdWait = Callable[[int, bool, float], bool]  # (fd, for writing, timeout) -> ready before the timeout


class PostgresNotAnswering(psycopg2.OperationalError):
    """No answer from Postgres within the deadline; psycopg2 has closed the connection."""


def _poll_wait(fd: int, write: bool, timeout: float) -> bool:
    poller = select.poll()  # not select.select: no limit on the descriptor's number
    poller.register(fd, select.POLLOUT if write else select.POLLIN)
    return bool(poller.poll(timeout * 1000))


def _green_wait(fd: int, write: bool, timeout: float) -> bool:
    from gevent.socket import wait_read, wait_write

    try:
        (wait_write if write else wait_read)(fd, timeout=timeout)
    except TimeoutError:
        return False
    return True


def _under_gevent() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("socket"))


def bounded_wait(connect_s: float, reply_s: float, fd_wait: FdWait) -> Callable[[object], None]:
    """A psycopg2 wait callback: ``connect_s`` for a whole connection set-up, ``reply_s`` for each answer."""

    def wait(conn) -> None:
        limit = connect_s if conn.status == extensions.STATUS_SETUP else reply_s
        deadline = time.monotonic() + limit
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            if state not in (extensions.POLL_READ, extensions.POLL_WRITE):
                raise psycopg2.OperationalError(f"unexpected poll state {state}")
            left = deadline - time.monotonic()
            if left <= 0 or not fd_wait(conn.fileno(), state == extensions.POLL_WRITE, left):
                raise PostgresNotAnswering(f"no answer from the database within {limit:g}s")

    return wait


_installed: tuple[float, float] | None = None


def install(connect_s: float, reply_s: float) -> None:
    """Bound every Postgres wait of this process (idempotent; the callback is process-wide)."""
    global _installed
    if _installed == (connect_s, reply_s):
        return
    fd_wait = _green_wait if _under_gevent() else _poll_wait
    extensions.set_wait_callback(bounded_wait(connect_s, reply_s, fd_wait))
    _installed = (connect_s, reply_s)


@contextmanager
def transaction(conn) -> Iterator[None]:
    """``with conn:`` (commit, or roll back on error), except that when the deadline closed the
    connection the error says so, instead of psycopg2's "connection already closed" from the rollback."""
    try:
        yield
    except BaseException:
        if not conn.closed:
            conn.rollback()
        raise
    conn.commit()
