"""The agents' entry point: what taking, returning, resolving, transferring, saving to the KB
or replying does to a case, its conversation, the creator and the agents' card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handlers.cases import casework
from handlers.cases.casework import Kind
from handlers.cases.opening import open_case
from handlers.common.i18n import N_, Translator, translator
from handlers.common.text import clean
from handlers.common.utc import as_utc
from handlers.contract.actions import SURVEY_PAYLOAD, ActionRejected, AgentAction, AgentActionKind
from handlers.contract.messages import OutgoingMessage, Suggestion
from handlers.contract.priority import Priority
from handlers.contract.results import EscalationChanged, HandlerResult
from handlers.contract.roles import ThreadRole
from handlers.conversation.policy import ConversationPolicy
from handlers.conversation.states import Event, next_state
from handlers.kb import variants
from handlers.kb.source import KbSource
from handlers.oncall import paging
from handlers.oncall.timers import Timekeeper
from handlers.storage import store
from handlers.storage.models import (
    Conversation,
    ConversationState,
    Creator,
    Escalation,
    EscalationStatus,
    KbArticle,
    Sender,
    TriageExample,
    VariantSource,
)
from handlers.triage.classifier import PRIORITIES, Triager
from handlers.triage.reasons import confirmed, is_possible

Replies = tuple[list[OutgoingMessage], Sender]


class AgentDesk:
    def __init__(
        self,
        *,
        engine: Engine,
        kb: KbSource,
        policy: ConversationPolicy,
        triager: Triager | None,
        clock: Callable[[], datetime],
        timekeeper: Timekeeper,
    ) -> None:
        self.engine = engine
        self.kb = kb
        self.policy = policy
        self.triager = triager
        self.clock = clock
        self.timekeeper = timekeeper

    def handle(self, action: AgentAction) -> HandlerResult:
        with Session(self.engine, expire_on_commit=False) as session:
            case = session.get(Escalation, action.escalation_id)
            if case is None:
                raise ActionRejected(
                    N_("reject_no_case"),
                    f"case #{action.escalation_id} does not exist",
                    case=action.escalation_id,
                )
            conversation = session.get(Conversation, case.conversation_id)
            creator = session.get(Creator, conversation.creator_id) if conversation else None
            assert conversation is not None and creator is not None
            replies, sender = self._apply(session, action, case, conversation, creator)
            relay = action.relay_ref if sender is Sender.AGENT else None
            outbox = [
                store.add_reply(session, conversation, r, sender, when=self.now, relay_ref=relay)
                for r in replies
            ]
            conversation.updated_at = self.now
            session.commit()
            return HandlerResult(
                conversation.platform,
                conversation.chat_id,
                creator.locale,
                tuple(replies),
                (EscalationChanged(action.escalation_id, case.status, case.assignee),),
                outbox_ids=tuple(m.id for m in outbox if m.id is not None),
            )

    @property
    def now(self) -> datetime:
        return self.clock()

    def _apply(
        self,
        session: Session,
        action: AgentAction,
        case: Escalation,
        conversation: Conversation,
        creator: Creator,
    ) -> Replies:
        t = translator(creator.locale)
        if action.kind is AgentActionKind.SAVE_KB:
            return self._save_kb(session, action, case, creator)
        if action.kind is AgentActionKind.RECLASSIFY:
            return self._reclassify(session, action, case)
        if case.status not in store.OPEN_STATUSES:
            raise ActionRejected(
                N_("reject_case_closed"),
                f"case #{case.id} is already {case.status}",
                case=case.id,
                status=str(case.status),
            )
        handler = {
            AgentActionKind.TAKE: self._take,
            AgentActionKind.RETURN: self._return,
            AgentActionKind.RESOLVE: self._resolve,
            AgentActionKind.TRANSFER: self._transfer,
            AgentActionKind.REPLY: self._reply,
            AgentActionKind.SEND_ARTICLE: self._send_article,
        }[action.kind]
        replies = handler(session, action, case, conversation, t)
        if action.kind not in (AgentActionKind.REPLY, AgentActionKind.SEND_ARTICLE):
            casework.post(session, case, Kind.UPDATE)
        return replies

    def _take(
        self,
        session: Session,
        action: AgentAction,
        case: Escalation,
        conv: Conversation,
        t: Translator,
    ) -> Replies:
        conv.state = next_state(ConversationState(conv.state), Event.TAKE)
        case.status, case.assignee, case.assigned_at = (
            EscalationStatus.ASSIGNED,
            action.agent_id,
            self.now,
        )
        assert case.id is not None
        # taking a case answers its pages
        paging.ack(session, case.id, by=action.agent_id, now=self.now)
        return [OutgoingMessage(t.gettext("agent_joined"))], Sender.BOT

    def _return(
        self, _s: Session, _a: AgentAction, case: Escalation, conv: Conversation, t: Translator
    ) -> Replies:
        conv.state = next_state(ConversationState(conv.state), Event.RETURN)
        case.status = EscalationStatus.RETURNED
        return [OutgoingMessage(t.gettext("back_to_bot"))], Sender.BOT

    def _resolve(
        self, _s: Session, action: AgentAction, case: Escalation, conv: Conversation, t: Translator
    ) -> Replies:
        resolution, root_cause = action.text or None, action.root_cause
        casework.resolve(case, conv, self.now, resolution=resolution, root_cause=root_cause)
        survey = tuple(Suggestion(str(n), f"{SURVEY_PAYLOAD}{case.id}:{n}") for n in range(1, 6))
        return [
            OutgoingMessage(t.gettext("resolved", case=case.id)),
            OutgoingMessage(t.gettext("survey_question"), survey),
        ], Sender.BOT

    def _transfer(
        self,
        session: Session,
        action: AgentAction,
        case: Escalation,
        conv: Conversation,
        t: Translator,
    ) -> Replies:
        if not action.queue or action.queue == case.queue:
            raise ActionRejected(
                N_("reject_same_team"), "choose another team to transfer the case to"
            )
        conv.state = next_state(ConversationState(conv.state), Event.TRANSFER)
        moved = Escalation(
            conversation_id=case.conversation_id,
            priority=case.priority,
            category=case.category,
            reason=case.reason,
            summary=case.summary,
            created_at=self.now,
            due_at=self.policy.due(case.priority, self.now),
            queue=action.queue,
            linked_from=case.id,
        )
        open_case(session, moved, self.now, self.timekeeper)
        case.status, case.transferred_to = EscalationStatus.TRANSFERRED, moved.id
        return [OutgoingMessage(t.gettext("case_transferred", case=moved.id))], Sender.BOT

    def _reply(
        self,
        session: Session,
        action: AgentAction,
        case: Escalation,
        conv: Conversation,
        _t: Translator,
    ) -> Replies:
        if ConversationState(conv.state) is not ConversationState.AGENT:
            raise ActionRejected(
                N_("reject_take_first"), "take the case before replying to the creator"
            )
        if case.assignee != action.agent_id:
            raise ActionRejected(
                N_("reject_not_owner"), "only the agent who took the case replies to the creator"
            )
        if asks_something(action.text):
            self.timekeeper.agent_asked(session, case, self.now)
        return [OutgoingMessage(clean(action.text), attachments=action.attachments)], Sender.AGENT

    def _send_article(
        self,
        session: Session,
        action: AgentAction,
        case: Escalation,
        conv: Conversation,
        t: Translator,
    ) -> Replies:
        """Agent assist: a KB answer, in the creator's language, sent as the agent's reply."""
        self._reply(session, action, case, conv, t)  # same rules: taken, by this agent
        article = self.kb.matcher().kb.get(action.article_id)
        if article is None:
            raise ActionRejected(
                N_("reject_no_article"),
                f"no KB article {action.article_id!r}",
                article=action.article_id,
            )
        casework.post(
            session,
            case,
            Kind.THREAD,
            role=ThreadRole.KB_SENT,
            agent=action.agent_id,
            article=article.id,
        )
        wording = variants.wording_before(session, conversation_id=case.conversation_id)
        variants.learn(
            session,
            wording,
            article_id=article.id,
            locale=t.locale,
            source=VariantSource.AGENT,
            now=self.now,
        )
        answer = OutgoingMessage(article.answer(t.locale), article_id=article.id)
        return [answer], Sender.AGENT

    def _reclassify(self, session: Session, action: AgentAction, case: Escalation) -> Replies:
        """An agent corrects triage: the case follows, and the creator's latest words become a
        labelled example, so the same words are read right next time."""
        if action.category not in PRIORITIES:
            raise ActionRejected(
                N_("reject_unknown_category"),
                f"unknown category {action.category!r}",
                category=action.category,
            )
        was = case.priority
        case.category, case.priority = action.category, PRIORITIES[action.category]
        case.due_at = self.policy.due(case.priority, as_utc(case.created_at))
        if case.priority == Priority.P1 and is_possible(case.reason):
            case.reason = confirmed(case.reason)  # a person confirmed a possible P1: page
            self.timekeeper.priority_changed(session, case, self.now)
        elif case.priority != was:
            self.timekeeper.priority_changed(session, case, self.now)
        latest = store.recent_inbound_texts(session, conversation_id=case.conversation_id, limit=1)
        text = clean(latest[0]) if latest else ""
        if text:
            example = TriageExample(
                text=text,
                category=action.category,
                source_case=case.id,
                agent=action.agent_id,
                created_at=self.now,
            )
            session.add(example)
            if self.triager is not None:
                self.triager.learn(text, action.category)
        casework.post(session, case, Kind.UPDATE)
        casework.post(
            session,
            case,
            Kind.THREAD,
            role=ThreadRole.RECLASSIFIED,
            agent=action.agent_id,
            priority=case.priority,
            category=case.category,
        )
        return [], Sender.BOT

    def _save_kb(
        self, session: Session, action: AgentAction, case: Escalation, creator: Creator
    ) -> Replies:
        """A draft article awaiting review: not answered from until someone publishes it."""
        article_id = f"draft-case-{case.id}"
        draft = session.exec(
            select(KbArticle).where(
                KbArticle.article_id == article_id, KbArticle.locale == creator.locale
            )
        ).first() or KbArticle(
            article_id=article_id, locale=creator.locale, questions="", answer=""
        )
        draft.category = clean(action.category)[:80] or case.category
        draft.questions = clean(action.question)[:3000]
        draft.answer = clean(action.text)[:3000]
        draft.published = False
        draft.source_case = case.id
        draft.updated_at = self.now
        session.add(draft)
        session.flush()
        casework.post(
            session, case, Kind.THREAD, role=ThreadRole.KB_DRAFT, article=article_id,
            agent=action.agent_id, draft=draft.id,
        )  # fmt: skip
        return [], Sender.BOT


def asks_something(text: str) -> bool:
    """An agent's line that waits for the creator's answer (ends in a question mark)."""
    return clean(text).rstrip(" .!)*_~").endswith("?")
