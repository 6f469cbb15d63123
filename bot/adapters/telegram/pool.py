"""The Telegram adapter's own small thread pool for blocking database work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


class DatabasePool:
    """A few threads with SQLite (one writer at a time anyway; with a single thread one slow
    turn held up every store, read and mark behind it, and on a busy machine one thread got
    too little CPU: p50 0.5 to 0.9 s against 10 to 15 ms with four), more for a server database."""

    def __init__(self, dialect: str) -> None:
        workers = 4 if dialect == "sqlite" else 8
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="telegram-db")

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking database work off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(function, *args, **kwargs))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False)
