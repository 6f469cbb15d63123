"""Opening cases: triage first, the VIP raise, a new case's card, thread and timers, the SOP
answer a P2 creator gets at once, and the creator's words while people own the case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import Session

from handlers.cases import casework
from handlers.cases.assist import latest_question
from handlers.cases.casework import Kind, Routing
from handlers.common.text import clean
from handlers.common.utc import as_utc
from handlers.contract.messages import OutgoingMessage
from handlers.contract.priority import Priority
from handlers.contract.results import EscalationOpened
from handlers.contract.roles import ThreadRole
from handlers.conversation.context import Turn
from handlers.conversation.intents import Intent, detect
from handlers.conversation.policy import ConversationPolicy
from handlers.conversation.states import Event, next_state
from handlers.kb.matching.matcher import Action
from handlers.kb.source import KbSource
from handlers.oncall.timers import Timekeeper
from handlers.storage import store
from handlers.storage.models import ConversationState, Escalation
from handlers.triage.classifier import Triage, Triager
from handlers.triage.reasons import Reason, encode, raise_for_vip
from handlers.triage.safety import safety_message

SUMMARY_MESSAGES = 5
SUMMARY_CHARS = 500


def open_case(session: Session, case: Escalation, now: datetime, timekeeper: Timekeeper) -> None:
    """A new case (opened, or a transfer's new card): its card, the conversation so far in its
    thread, and its SLA timers."""
    session.add(case)
    session.flush()
    casework.post(session, case, Kind.CARD)
    transcript = store.transcript(session, conversation_id=case.conversation_id)
    casework.post(session, case, Kind.THREAD, role=ThreadRole.TRANSCRIPT, lines=transcript)
    timekeeper.case_opened(session, case, now)


class CaseOpener:
    def __init__(
        self,
        *,
        kb: KbSource,
        policy: ConversationPolicy,
        routing: Routing,
        triager: Triager | None,
        clock: Callable[[], datetime],
        timekeeper: Timekeeper,
    ) -> None:
        self.kb = kb
        self.policy = policy
        self.routing = routing
        self.triager = triager
        self.clock = clock
        self.timekeeper = timekeeper

    def escalate(
        self,
        turn: Turn,
        *,
        reasons: Sequence[Reason],
        fallback: str = "",
        priority: Priority = Priority.P3,
        category: str = "human_request",
        announce: bool = True,
    ) -> None:
        conversation = turn.conversation
        assert conversation.id is not None
        conversation.state = next_state(ConversationState(conversation.state), Event.ESCALATE)
        conversation.misses = 0
        recent = store.recent_inbound_texts(
            turn.session, conversation_id=conversation.id, limit=SUMMARY_MESSAGES
        )
        if turn.creator.is_vip:
            priority, reasons = raise_for_vip(priority, reasons)
        reason = encode(reasons) or fallback[:500]
        escalation = Escalation(
            conversation_id=conversation.id,
            priority=priority,
            category=category,
            reason=reason,
            summary="\n".join(clean(t)[:SUMMARY_CHARS] for t in recent),
            created_at=self.clock(),
            due_at=self.policy.due(priority, self.clock()),
            queue=self.routing.queue_for(category, vip=turn.creator.is_vip),
        )
        open_case(turn.session, escalation, self.clock(), self.timekeeper)
        assert escalation.id is not None
        turn.effects.append(
            EscalationOpened(escalation.id, conversation.id, priority, category, reason)
        )
        if announce:
            turn.say(turn.t.gettext("escalated", case=escalation.id))

    def triage_first(self, turn: Turn) -> bool:
        """P1 and P2 go to people at once, whatever the KB could say. True when handled."""
        if self.triager is None:
            return False
        verdict = self.triager.classify(turn.text, vip=turn.creator.is_vip)
        turn.inbound.priority, turn.inbound.category = verdict.priority, verdict.category
        if not verdict.priority.urgent:
            return False
        assert turn.conversation.id is not None
        case = store.open_escalation(turn.session, conversation_id=turn.conversation.id)
        if case is not None:
            self._raise_open_case(turn, case, verdict)
        else:
            if verdict.priority is Priority.P2:
                self._sop_answer(turn)
            self.escalate(
                turn,
                reasons=verdict.reasons,
                fallback=verdict.category,
                priority=verdict.priority,
                category=verdict.category,
                announce=verdict.priority is not Priority.P1,
            )
        if verdict.priority is Priority.P1:
            turn.say(safety_message(turn.t, verdict.category, turn.creator, turn.message))
        elif case is not None:
            turn.say(turn.t.gettext("escalated", case=case.id))
        return True

    def _raise_open_case(self, turn: Turn, case: Escalation, verdict: Triage) -> None:
        """An urgent message in a case already open: a more severe reading raises the case."""
        if verdict.priority.outranks(case.priority):
            case.priority, case.category = verdict.priority, verdict.category
            case.due_at = self.policy.due(verdict.priority, as_utc(case.created_at))
            casework.post(turn.session, case, Kind.UPDATE)
            self.timekeeper.priority_changed(turn.session, case, self.clock())
        casework.post(
            turn.session,
            case,
            Kind.THREAD,
            role=ThreadRole.TRIAGE,
            reason=encode(verdict.reasons) or verdict.category,
            priority=verdict.priority,
        )

    def _sop_answer(self, turn: Turn) -> None:
        """A P2 creator gets the KB's answer at once when it is a confident one (what to do now:
        secure the account, report the user…) and a person follows up in the case just opened."""
        matcher = self.kb.matcher()
        result = matcher.match(turn.text, turn.t.locale)
        article = matcher.kb.get(result.article_id) if result.article_id else None
        if result.action is Action.ANSWER and article is not None:
            answer = article.answer(turn.t.locale)
            turn.replies.append(OutgoingMessage(answer, article_id=article.id))

    def while_with_people(self, turn: Turn, state: ConversationState) -> None:
        """People own the case: the creator's words go to its thread; the bot stays quiet except
        to reassure before someone took it."""
        assert turn.conversation.id is not None
        case = store.open_escalation(turn.session, conversation_id=turn.conversation.id)
        if case is None:
            return
        casework.creator_line(turn.session, case, turn.creator, turn.text, turn.message.attachments)
        if latest_question([turn.text]):  # the card's suggested KB answers follow the question
            casework.post(turn.session, case, Kind.UPDATE)
        if state is not ConversationState.ESCALATED:
            return
        if detect(turn.text) is Intent.HUMAN_REQUEST:
            casework.post(turn.session, case, Kind.THREAD, role=ThreadRole.NUDGE)
        if turn.message.attachments:
            return turn.say(turn.t.gettext("attachment_added_to_case", case=case.id))
        waited = (self.clock() - as_utc(case.created_at)).total_seconds()
        turn.say(turn.t.gettext("still_waiting", case=case.id, waited=turn.t.timedelta(waited)))
