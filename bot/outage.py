"""Refused updates during a database outage: one log line per interval with a count.

A traceback per refused update (7.7 KB each, hundreds a second while a platform retries)
buries everything else in the log and costs more than the outage itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from handlers.storage.db import transient

log = logging.getLogger("puente.outage")
INTERVAL_SECONDS = 30.0


class RefusalLog:
    """Counts refusals; the first of each interval is logged with the count since the last
    line. A traceback only for a failure that isn't a passing outage (a bug), once a line."""

    def __init__(
        self, interval: float = INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._count = 0

    def refused(self, platform: str, exc: BaseException) -> None:
        now = self.clock()
        with self._lock:
            self._count += 1
            if self._last is not None and now - self._last < self.interval:
                return
            count, self._count, self._last = self._count, 0, now
        log.error(
            "%s: could not store %d update(s) in the last %.0f s (%s); the platform will retry",
            platform,
            count,
            self.interval,
            type(exc).__name__,
            exc_info=None if transient(exc) else exc,
        )


REFUSALS = RefusalLog()
