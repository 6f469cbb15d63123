"""The contract every chat platform's adapter keeps with ``puente serve`` and the web app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from starlette.routing import BaseRoute

from handlers.contract.messages import IncomingMessage, Platform
from handlers.storage.db import retrying

if TYPE_CHECKING:
    from handlers.api import HandlerResult, Puente

RejectionCounter = Callable[[str, int], None]
"""Called with (route path, HTTP status) for every webhook request an adapter turns away."""

FileFetchers = dict[str, Callable[[str], Awaitable[bytes | None]]]
"""Platform name → its adapter's ``download``: how a file shared on one platform is relayed to
another (filled by ``puente serve`` as adapters are built)."""


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


def hand_over(puente: Puente, incoming: IncomingMessage, inbox_row: int | None) -> HandlerResult:
    """How every adapter gives the core a creator's message: with the inbox row of the raw
    event it stored, which the core marks processed in the same transaction as the message and
    its replies (so "answered" and "finished" can't disagree after a crash); run again if the
    database restarted mid-way, as that transaction rolled back. Blocking: call it off the
    event loop."""
    return retrying(lambda: puente.handle_message(incoming, inbox_row=inbox_row))
