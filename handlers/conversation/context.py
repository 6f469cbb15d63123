"""Everything one creator message needs while it is being answered."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from handlers.common.i18n import Translator
from handlers.contract.messages import IncomingMessage, OutgoingMessage, Suggestion
from handlers.contract.results import Effect
from handlers.storage.models import Conversation, Creator, Message

HUMAN_PAYLOAD = "/agente"


@dataclass
class Turn:
    session: Session
    creator: Creator
    conversation: Conversation
    t: Translator
    text: str
    message: IncomingMessage
    inbound: Message
    replies: list[OutgoingMessage] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)

    def say(self, text: str, suggestions: tuple[Suggestion, ...] = ()) -> None:
        self.replies.append(OutgoingMessage(text=text, suggestions=suggestions))

    def human_button(self) -> tuple[Suggestion, ...]:
        return (Suggestion(self.t.gettext("talk_to_agent"), HUMAN_PAYLOAD),)
