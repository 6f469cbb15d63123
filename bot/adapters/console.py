"""The console adapter: the embedded default; a creator typing in a terminal, or a script."""

from __future__ import annotations

import getpass
import itertools
import sys
import uuid
from collections.abc import Sequence
from typing import BinaryIO, TextIO

from starlette.routing import BaseRoute

from bot.adapters.base import RejectionCounter, hand_over
from handlers.api import HandlerResult, Puente
from handlers.common.i18n import translator
from handlers.contract.messages import IncomingMessage, OutgoingMessage, Platform, Suggestion

PROMPT = "> "


class ConsoleChat:
    """A creator in a terminal; every session of the same user continues one conversation
    (so an offer made in the last run can still be picked by its number).

    A :class:`~bot.adapters.base.ChatAdapter` with nothing running beside it: no webhook, no
    stored raw events, and replies printed (and marked delivered) within the creator's turn.
    """

    platform = Platform.CONSOLE

    def __init__(
        self,
        puente: Puente,
        *,
        locale: str,
        user: str | None = None,
        stdin: BinaryIO | None = None,
        stdout: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.puente = puente
        self.locale = locale
        self.user = user or _os_user()
        self.chat_id = self.user
        self._session = uuid.uuid4().hex[:12]  # message ids stay unique across sessions
        self.stdin = stdin or sys.stdin.buffer
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty() if interactive is None else interactive
        self._ids = itertools.count(1)
        self._suggestions: tuple[Suggestion, ...] = ()

    def run(self) -> int:
        if self.interactive:
            self._print(translator(self.locale).gettext("console_banner"))
        while True:
            if self.interactive:
                self.stdout.write(PROMPT)
                self.stdout.flush()
            raw = self.stdin.readline()
            if not raw:
                return 0
            self.send(raw.decode("utf-8", errors="replace").rstrip("\r\n"))

    def routes(self, rejected: RejectionCounter) -> Sequence[BaseRoute]:
        return ()

    async def start(self) -> None:
        """Nothing to start: :meth:`run` reads the terminal."""

    async def stop(self) -> None:
        """Nothing to stop: :meth:`run` ends with its input."""

    def wake(self) -> None:
        """Nothing waits: replies are printed as each line is answered."""

    async def download(self, file_id: str) -> bytes | None:
        """A terminal sends no files."""
        return None

    @property
    def sender_alive(self) -> bool:
        return True

    def send(self, line: str) -> HandlerResult:
        result = hand_over(self.puente, self.to_incoming(line), None)
        self.locale = result.locale
        for reply in result.replies:
            self._render(reply)
        self.stdout.flush()
        self.puente.mark_delivered(result.outbox_ids)
        return result

    def to_incoming(self, line: str) -> IncomingMessage:
        """A number picks one of the last suggestions, as tapping a button would."""
        choice = line.strip()
        if choice.isascii() and choice.isdigit() and 1 <= int(choice) <= len(self._suggestions):
            line = self._suggestions[int(choice) - 1].payload
        return IncomingMessage(
            platform=Platform.CONSOLE,
            chat_id=self.chat_id,
            user_id=self.user,
            message_id=f"{self._session}:{next(self._ids)}",
            text=line,
            display_name=self.user,
            locale_hint=self.locale,
        )

    def _render(self, reply: OutgoingMessage) -> None:
        self._print(f"Puente: {reply.text}")
        self._suggestions = reply.suggestions
        for number, suggestion in enumerate(reply.suggestions, start=1):
            self._print(f"  {number}) {suggestion.label}")

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "creator"
