"""``puente worker``: fires the timers stored in the database (SLA reminders and breaches, page
repeats, creator nudges, auto-close) every few seconds, until SIGTERM or SIGINT.

Its effects are outbox rows; the ``serve`` process's senders poll the outboxes, so a nudge
written here reaches Telegram and a reminder reaches Slack. Several workers may run at once:
each timer is claimed before it fires (see :mod:`handlers.oncall.timers`).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from bot.app import oncall_policy
from bot.config import Settings
from handlers.common.utc import utcnow
from handlers.oncall.timers import Timekeeper
from handlers.storage.db import make_engine

log = logging.getLogger("puente.worker")


def build_timekeeper(settings: Settings) -> Timekeeper:
    """What ticking needs: the database and the on-call policy (no KB, no encoder)."""
    return Timekeeper(make_engine(settings.operations.database_url), oncall_policy(settings))


def run(
    timekeeper: Timekeeper,
    *,
    every: float,
    stop: threading.Event,
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Tick until ``stop`` is set; a failed tick is logged and retried on the next one."""
    log.warning("worker: started (every %.1f s)", every)
    while not stop.is_set():
        fired = 0
        try:
            fired = timekeeper.tick(clock())
            if fired:
                log.info("worker: fired %d timers", fired)
        except Exception:
            log.exception("worker: tick failed")
        if not fired:  # a tick fires one batch: after a busy one, look again at once
            stop.wait(every)
    log.warning("worker: stopped")
    return 0


def main(settings: Settings) -> int:
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    return run(build_timekeeper(settings), every=settings.operations.worker_seconds, stop=stop)
