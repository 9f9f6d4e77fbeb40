"""The stop request: SIGTERM and SIGINT only set a flag, which the loop checks between batches.

Installed before anything else at start-up (see ``__main__``), so a signal at any moment of it
ends the worker cleanly. The flag is a plain attribute, never a lock-based primitive: a handler
that took a lock the interrupted code already holds would deadlock.
"""

from __future__ import annotations

import signal
import time


class StopRequest:
    def __init__(self) -> None:
        self.requested = False

    def install(self) -> StopRequest:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        return self

    def _on_signal(self, _signum, _frame) -> None:
        self.requested = True

    def set(self) -> None:
        self.requested = True

    def pause(self, seconds: float, tick: float = 0.05) -> None:
        """Sleep up to ``seconds``, returning early once a stop is requested."""
        deadline = time.monotonic() + seconds
        while not self.requested:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(tick, left))
