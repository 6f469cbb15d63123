"""The creator's commands: case status, language, the satisfaction survey."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from handlers.common.i18n import SUPPORTED_LOCALES, translator
from handlers.common.utc import as_utc
from handlers.contract.ids import parse_survey
from handlers.contract.messages import Suggestion
from handlers.conversation.context import Turn
from handlers.conversation.intents import command
from handlers.conversation.policy import ConversationPolicy
from handlers.storage import store
from handlers.storage.models import Escalation, EscalationStatus

LANGUAGE_BUTTONS = (Suggestion("Español", "/idioma es"), Suggestion("English", "/idioma en"))


class Commands:
    def __init__(self, *, policy: ConversationPolicy, clock: Callable[[], datetime]) -> None:
        self.policy = policy
        self.clock = clock

    def status(self, turn: Turn) -> None:
        assert turn.conversation.id is not None
        case = store.open_escalation(turn.session, conversation_id=turn.conversation.id)
        if case is None:
            return turn.say(turn.t.gettext("status_none"))
        zone = turn.creator.timezone
        opened = turn.t.minute(as_utc(case.created_at), zone)
        if case.status == EscalationStatus.ASSIGNED:
            return turn.say(turn.t.gettext("status_assigned", case=case.id, opened=opened))
        due = as_utc(case.due_at or self.policy.due(case.priority, as_utc(case.created_at)))
        if due <= self.clock():
            return turn.say(turn.t.gettext("status_late", case=case.id, opened=opened))
        turn.say(
            turn.t.gettext("status_open", case=case.id, opened=opened, due=turn.t.minute(due, zone))
        )

    @staticmethod
    def change_language(turn: Turn) -> None:
        found = command(turn.text)
        wanted = found[1].strip().casefold() if found else ""
        if wanted in SUPPORTED_LOCALES:
            turn.creator.locale = wanted
            turn.creator.locale_chosen = True
            turn.t = translator(wanted)
            return turn.say(turn.t.gettext("language_set"))
        turn.say(turn.t.gettext("language_pick"), LANGUAGE_BUTTONS)

    @staticmethod
    def record_satisfaction(turn: Turn) -> None:
        """``csat:<case>:<1-5>`` from the survey buttons; only for this conversation's cases."""
        answer = parse_survey(turn.text)
        case = turn.session.get(Escalation, answer.case_id) if answer else None
        if answer is None or case is None or case.conversation_id != turn.conversation.id:
            return turn.say(turn.t.gettext("no_words"))
        case.satisfaction = answer.score
        turn.say(turn.t.gettext("survey_thanks"))
