"""The contract every chat platform's adapter keeps with ``puente serve`` and the web app."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from starlette.routing import BaseRoute

from handlers.contract.messages import Platform

RejectionCounter = Callable[[str, int], None]
"""Called with (route path, HTTP status) for every webhook request an adapter turns away."""


@runtime_checkable
class ChatAdapter(Protocol):
    """One chat platform: it stores each raw event before acknowledging it, hands it to the
    core as one normalised message, and delivers the outbox rows of its platform."""

    platform: Platform

    def routes(self, rejected: RejectionCounter) -> Sequence[BaseRoute]:
        """Webhook endpoints served on ``PORT`` beside /healthz (none for polling platforms)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def wake(self) -> None:
        """New outbound rows may be waiting: deliver soon rather than on the next poll."""
        ...

    async def download(self, file_id: str) -> bytes | None:
        """A file a creator sent on this platform, to relay it elsewhere (None if gone)."""
        ...

    @property
    def sender_alive(self) -> bool: ...
