"""The core's front door: a thin facade over collaborators wired from one
:class:`~handlers.services.Services` bundle, each receiving only the services it uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from handlers.cases import casework
from handlers.cases.desk import AgentDesk
from handlers.cases.opening import CaseOpener
from handlers.contract.actions import ActionRejected, AgentAction, AgentActionKind
from handlers.contract.messages import IncomingMessage
from handlers.contract.results import EscalationOpened, HandlerResult
from handlers.contract.rich import RichReply
from handlers.conversation.commands import Commands
from handlers.conversation.turn import TurnTaker
from handlers.delivery.marks import mark_delivered
from handlers.kb.answers import KbAnswers
from handlers.oncall.command import OncallCommand, OncallRequest
from handlers.oncall.timers import Timekeeper
from handlers.services import Services


class Puente:
    def __init__(self, services: Services | None = None, **parts: Any) -> None:
        """From the bundle ``bot.app`` builds, or from its parts (engine, kb…)."""
        self._wire(replace(services, **parts) if services else Services(**parts))

    def _wire(self, services: Services) -> None:
        s = self.services = services
        self.timekeeper = Timekeeper(s.engine, s.oncall)
        opener = CaseOpener(
            kb=s.kb,
            policy=s.policy,
            routing=s.routing,
            triager=s.triager,
            clock=s.clock,
            timekeeper=self.timekeeper,
        )
        answers = KbAnswers(kb=s.kb, max_misses=s.policy.max_misses, opener=opener)
        commands = Commands(policy=s.policy, clock=s.clock)
        self._turns = TurnTaker(
            engine=s.engine,
            policy=s.policy,
            clock=s.clock,
            opener=opener,
            answers=answers,
            commands=commands,
        )
        self._desk = AgentDesk(
            engine=s.engine,
            kb=s.kb,
            policy=s.policy,
            triager=s.triager,
            clock=s.clock,
            timekeeper=self.timekeeper,
        )
        self._oncall = OncallCommand(s.engine, s.kb, s.clock, self.timekeeper)

    def __getattr__(self, name: str) -> Any:
        """``engine``, ``kb``, ``clock``, ``oncall``, ``policy``, ``routing``, ``triager``."""
        if name in Services.__dataclass_fields__:
            return getattr(self.__dict__["services"], name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        """Swapping one service (a test's triager or routing) rewires every collaborator."""
        if name in Services.__dataclass_fields__:
            return self._wire(replace(self.services, **{name: value}))
        object.__setattr__(self, name, value)

    def handle_message(
        self, message: IncomingMessage, *, inbox_row: int | None = None
    ) -> HandlerResult:
        """A creator's message (see :meth:`TurnTaker.handle`)."""
        return self._turns.handle(message, inbox_row=inbox_row)

    def mark_delivered(
        self, message_ids: Sequence[int], platform_message_id: str | None = None
    ) -> None:
        """The adapter delivered these outbound messages (the console, as it prints them)."""
        mark_delivered(self.services.engine, self.services.clock, message_ids, platform_message_id)

    def case_question_and_answer(self, escalation_id: int) -> tuple[str, str]:
        """The creator's last words and the agent's last answer: a KB draft's starting point."""
        return casework.question_and_answer(self.services.engine, escalation_id)

    def handle_tick(self, now: datetime | None = None) -> int:
        """Fire due timers; ``puente worker`` calls this every few seconds."""
        return self.timekeeper.tick(now or self.services.clock())

    def handle_agent_action(self, action: AgentAction) -> HandlerResult:
        """Take, return, resolve, transfer, save to the KB or reply (:mod:`handlers.cases.desk`)."""
        return self._desk.handle(action)

    def answer_oncall(self, request: OncallRequest) -> RichReply:
        """The agents' ``/oncall`` command (:mod:`handlers.oncall.command`)."""
        return self._oncall.answer(request)


__all__ = ["ActionRejected", "AgentAction", "AgentActionKind", "EscalationOpened", "Puente"]
