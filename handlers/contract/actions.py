"""What an agent can do to a case, as the agents' adapter reports it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handlers.contract.messages import Attachment

SURVEY_PAYLOAD = "csat:"  # a survey button: csat:<case>:<1-5>


class AgentActionKind(StrEnum):
    TAKE = "take"
    RETURN = "return"
    RESOLVE = "resolve"
    REPLY = "reply"
    TRANSFER = "transfer"
    SAVE_KB = "save_kb"
    RECLASSIFY = "reclassify"
    SEND_ARTICLE = "send_article"  # agent assist: a KB answer sent as the agent


@dataclass(frozen=True, slots=True)
class AgentAction:
    kind: AgentActionKind
    escalation_id: int
    agent_id: str
    text: str = ""
    root_cause: str | None = None
    queue: str | None = None  # transfer: the other team's queue
    question: str = ""  # save to KB: the creator's question (text is the answer)
    category: str = ""
    relay_ref: str | None = None  # reply: where the agent wrote it, for the delivery mark
    attachments: tuple[Attachment, ...] = ()  # reply: files the agent shared
    article_id: str = ""  # send_article: the KB article to send


class ActionRejected(ValueError):
    """An agent action that doesn't fit the case's state (e.g. resolving a closed case).

    ``key`` is a catalog msgid and ``values`` its placeholders, so the adapter tells the agent
    why in their language; ``str()`` stays an English line for logs and tests.
    """

    def __init__(self, key: str, english: str, **values: object) -> None:
        super().__init__(english)
        self.key = key
        self.values = values
