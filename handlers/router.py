"""The handler layer's entry points: every adapter calls these and delivers what they return."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from handlers.cases import casework
from handlers.cases.assist import latest_question
from handlers.cases.casework import Kind, Routing
from handlers.cases.desk import AgentDesk
from handlers.common.i18n import (
    N_,
    SUPPORTED_LOCALES,
    Translator,
    negotiate,
    timezone_for,
    translator,
)
from handlers.common.text import clean, has_words, storable
from handlers.contract.actions import SURVEY_PAYLOAD, ActionRejected, AgentAction, AgentActionKind
from handlers.contract.messages import IncomingMessage, OutgoingMessage, Suggestion
from handlers.conversation import smalltalk
from handlers.conversation.intents import Intent, command, detect
from handlers.conversation.language import LanguageStreaks, message_locale
from handlers.conversation.offers import OfferStreaks
from handlers.conversation.states import Event, bot_answers, next_state
from handlers.kb.articles import Article
from handlers.kb.matching.matcher import Action
from handlers.kb.source import KbSource
from handlers.oncall.sla import OncallPolicy
from handlers.oncall.timers import Timekeeper
from handlers.storage import store
from handlers.storage.models import (
    Conversation,
    ConversationState,
    Creator,
    Direction,
    Escalation,
    EscalationStatus,
    Message,
    Sender,
    as_utc,
    utcnow,
)
from handlers.triage.classifier import Triager
from handlers.triage.reasons import ASKED_FOR_PERSON, NO_KB_ANSWER, VIP_CREATOR, Reason, encode
from handlers.triage.safety import safety_message

HUMAN_PAYLOAD = "/agente"
ARTICLE_PAYLOAD = "kb:"
LANGUAGE_BUTTONS = (Suggestion("Español", "/idioma es"), Suggestion("English", "/idioma en"))
SUMMARY_MESSAGES = 5
SUMMARY_CHARS = 500


@dataclass(frozen=True, slots=True)
class EscalationOpened:
    escalation_id: int
    conversation_id: int
    priority: str
    category: str
    reason: str  # as stored on the case (see handlers.triage.reasons)


@dataclass(frozen=True, slots=True)
class EscalationChanged:
    escalation_id: int
    status: str
    assignee: str | None


Effect = EscalationOpened | EscalationChanged


@dataclass(frozen=True, slots=True)
class HandlerResult:
    """What must happen now: messages for the creator's chat and effects for the agents' side."""

    platform: str
    chat_id: str
    locale: str
    replies: tuple[OutgoingMessage, ...] = ()
    effects: tuple[Effect, ...] = ()
    duplicate: bool = False
    outbox_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ConversationPolicy:
    max_misses: int = 2
    flood_messages: int = 10
    flood_seconds: float = 10.0
    response_minutes: tuple[tuple[str, int], ...] = (
        ("P1", 15),
        ("P2", 60),
        ("P3", 8 * 60),
        ("P4", 24 * 60),
    )

    def due(self, priority: str, opened: datetime) -> datetime:
        """By when a person should first answer a case of this priority."""
        minutes = dict(self.response_minutes).get(priority, 24 * 60)
        return opened + timedelta(minutes=minutes)


@dataclass
class _Turn:
    """Everything one creator message needs while it is being answered."""

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


class Puente:
    def __init__(
        self,
        *,
        engine: Engine,
        kb: KbSource,
        policy: ConversationPolicy | None = None,
        routing: Routing | None = None,
        triager: Triager | None = None,
        clock: Callable[[], datetime] = utcnow,
        oncall: OncallPolicy | None = None,
    ) -> None:
        self.triager = triager
        self.oncall = oncall or OncallPolicy()
        self.timekeeper = Timekeeper(self)
        self.engine = engine
        self.kb = kb
        self.policy = policy or ConversationPolicy()
        self.routing = routing or Routing()
        self.clock = clock
        self.language_streaks = LanguageStreaks()
        self.offer_streaks = OfferStreaks()

    # -- creators -----------------------------------------------------------------

    def handle_message(
        self, message: IncomingMessage, *, inbox_row: int | None = None
    ) -> HandlerResult:
        """Store the message, decide, and store the replies (the outbox) in one transaction.

        ``inbox_row``: the adapter's stored raw update
        (:class:`~handlers.delivery.outbox.Inbox`), marked
        processed in the same transaction, so "answered" and "finished" can't disagree after a
        crash. Should deciding fail, the message alone is still stored before the error goes up.
        """
        text = clean(message.text)
        with Session(self.engine, expire_on_commit=False) as session:
            received = self._receive(session, message)
            if received is None:
                store.finish_update(session, row=inbox_row, when=self.clock())
                session.commit()
                locale = negotiate(message.locale_hint)
                return HandlerResult(
                    message.platform.value, message.chat_id, locale, duplicate=True
                )
            try:
                turn, outbox = self._decide(session, message, text, received)
            except Exception:
                session.rollback()
                self._keep_inbound(message)
                raise
            store.finish_update(session, row=inbox_row, when=self.clock())
            session.commit()
            return HandlerResult(
                message.platform.value,
                message.chat_id,
                turn.creator.locale,
                tuple(turn.replies),
                tuple(turn.effects),
                outbox_ids=tuple(m.id for m in outbox if m.id is not None),
            )

    def _decide(
        self,
        session: Session,
        message: IncomingMessage,
        text: str,
        received: tuple[Creator, Conversation, Message],
    ) -> tuple[_Turn, list[Message]]:
        """The turn's replies and effects, with the replies added to the session's outbox."""
        creator, conversation, inbound = received
        assert creator.id is not None
        locale, switch = message_locale(
            self.language_streaks, creator.id, creator.locale, creator.locale_chosen, text
        )
        if switch:
            creator.locale = locale
        turn = _Turn(session, creator, conversation, translator(locale), text, message, inbound)
        if self._flooding(turn):
            self._warn_once(turn)
        else:
            self._respond(turn)
        outbox = [self._store_reply(session, conversation, r, Sender.BOT) for r in turn.replies]
        conversation.updated_at = self.clock()
        return turn, outbox

    def _keep_inbound(self, message: IncomingMessage) -> None:
        """After a failed turn: the creator's message is never lost, answered or not."""
        with Session(self.engine) as session:
            if self._receive(session, message) is not None:
                session.commit()

    def _receive(
        self, session: Session, message: IncomingMessage
    ) -> tuple[Creator, Conversation, Message] | None:
        """Creator, conversation and the message, flushed (committed with the replies); None
        for a platform's retry.

        Two workers meeting the same new creator (or the same retry) at once: the loser's insert
        fails on a unique constraint, and its second try finds what the winner stored.
        """
        for attempt in range(2):
            try:
                return self._store_inbound(session, message, after_conflict=bool(attempt))
            except IntegrityError:
                session.rollback()
                if attempt:
                    raise
        return None

    def _store_inbound(
        self, session: Session, message: IncomingMessage, *, after_conflict: bool = False
    ) -> tuple[Creator, Conversation, Message] | None:
        """A platform's retry is caught by the unique constraint when the message is flushed;
        only after such a conflict is it looked up first (saving a query per message)."""
        creator, conversation = self._creator_and_conversation(session, message)
        assert conversation.id is not None
        if (
            after_conflict
            and message.message_id
            and store.inbound_exists(
                session, conversation_id=conversation.id, platform_message_id=message.message_id
            )
        ):
            return None
        inbound = store.add_message(
            session,
            conversation_id=conversation.id,
            direction=Direction.IN,
            sender=Sender.CREATOR,
            text=storable(message.text),
            platform_message_id=message.message_id or None,
            attachments=message.attachments,
            created_at=self.clock(),
        )
        session.flush()  # a racing duplicate fails here, not after the turn was decided
        return creator, conversation, inbound

    def _creator_and_conversation(
        self, session: Session, message: IncomingMessage
    ) -> tuple[Creator, Conversation]:
        platform = message.platform.value
        seen = {
            "display_name": clean(message.display_name)[:200],
            "locale": negotiate(message.locale_hint) if message.locale_hint else None,
            "timezone": timezone_for(message.locale_hint),
        }
        found = store.creator_in_chat(
            session, platform=platform, user_id=message.user_id, chat_id=message.chat_id
        )
        if found is not None:
            store.refresh_creator(found[0], **seen)
            return found
        creator = store.get_or_create_creator(
            session, platform=platform, user_id=message.user_id, **seen
        )
        conversation = store.get_or_create_conversation(
            session, creator=creator, platform=platform, chat_id=message.chat_id
        )
        return creator, conversation

    def _flooding(self, turn: _Turn) -> bool:
        """More than ``flood_messages`` in ``flood_seconds``: stored, but not answered."""
        assert turn.conversation.id is not None
        since = self.clock() - timedelta(seconds=self.policy.flood_seconds)
        recent = store.count_inbound_since(
            turn.session, conversation_id=turn.conversation.id, since=since
        )
        return recent > self.policy.flood_messages

    def _warn_once(self, turn: _Turn) -> None:
        now = self.clock()
        warned = turn.conversation.flood_warned_at
        window = timedelta(seconds=self.policy.flood_seconds)
        if warned is None or now - as_utc(warned) > window:
            turn.conversation.flood_warned_at = now
            turn.say(turn.t.gettext("flood_warning"))

    def _respond(self, turn: _Turn) -> None:
        if has_words(turn.text) and self._triage_first(turn):
            return
        intent = detect(turn.text)
        if intent is Intent.LANGUAGE:
            return self._change_language(turn)
        if intent is Intent.STATUS:
            return self._status(turn)
        state = ConversationState(turn.conversation.state)
        if not bot_answers(state):
            return self._while_with_people(turn, state)
        if state is ConversationState.RESOLVED:
            turn.conversation.state = next_state(state, Event.REOPEN)
        if intent is Intent.START:
            return turn.say(
                turn.t.gettext("welcome"), (*LANGUAGE_BUTTONS, *self._human_button(turn.t))
            )
        if turn.text.startswith(SURVEY_PAYLOAD):
            return self._record_satisfaction(turn)
        if intent is Intent.HELP:
            return turn.say(turn.t.gettext("help"))
        if intent is Intent.HUMAN_REQUEST:
            return self._escalate(turn, reasons=(Reason(ASKED_FOR_PERSON),))
        if not has_words(turn.text):
            if turn.message.attachments:
                return turn.say(turn.t.gettext("attachment_without_text"))
            return turn.say(turn.t.gettext("no_words"))
        if intent is Intent.GREETING:
            return turn.say(turn.t.gettext("greeting"))
        if intent is Intent.THANKS:
            return turn.say(turn.t.gettext("thanks"))
        if intent is Intent.GOODBYE:
            return turn.say(turn.t.gettext("goodbye"))
        if intent is Intent.LAUGHTER:
            return turn.say(turn.t.gettext("laughter"))
        if (small_talk := smalltalk.reply_key(turn.text)) is not None:
            return turn.say(turn.t.gettext(small_talk))
        return self._answer_from_kb(turn)

    def _answer_from_kb(self, turn: _Turn) -> None:
        chosen = self._chosen_article(turn.text)
        matcher = self.kb.matcher()
        if chosen is None:
            result = matcher.match(turn.text, turn.t.locale)
            action, article_id = result.action, result.article_id
        else:
            action, article_id = Action.ANSWER, chosen.id
        assert turn.conversation.id is not None
        if action is Action.ANSWER and article_id is not None:
            self.offer_streaks.settled(turn.conversation.id)
            turn.conversation.misses = 0
            article = matcher.kb.get(article_id)
            assert article is not None
            answer = OutgoingMessage(article.answer(turn.t.locale), article_id=article_id)
            return turn.replies.append(answer)
        if action is Action.CLARIFY:
            articles = [a for a in map(matcher.kb.get, result.suggestions) if a is not None]
            buttons = self._article_buttons(articles, turn.t.locale)
            person = self._human_button(turn.t)
            if self.offer_streaks.offered(turn.conversation.id):
                return turn.say(turn.t.gettext("clarify"), (*person, *buttons))
            return turn.say(turn.t.gettext("clarify"), (*buttons, *person))
        turn.conversation.misses += 1
        if turn.conversation.misses >= self.policy.max_misses:
            return self._escalate(turn, reasons=(Reason(NO_KB_ANSWER),))
        # a complaint the KB can't answer deserves an apology and a person, not "rephrase it"
        key = N_("no_answer_complaint") if turn.inbound.category == "complaint" else N_("no_answer")
        turn.say(turn.t.gettext(key), self._human_button(turn.t))

    def _chosen_article(self, text: str) -> Article | None:
        if not text.startswith(ARTICLE_PAYLOAD):
            return None
        return self.kb.matcher().kb.get(text.removeprefix(ARTICLE_PAYLOAD).strip())

    def _escalate(
        self,
        turn: _Turn,
        *,
        reasons: Sequence[Reason],
        fallback: str = "",
        priority: str = "P3",
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
        if turn.creator.is_vip and priority == "P3":
            priority, reasons = "P2", (*reasons, Reason(VIP_CREATOR))
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
        self.open_case(turn.session, escalation, self.clock())
        assert escalation.id is not None
        turn.effects.append(
            EscalationOpened(
                escalation.id, conversation.id, escalation.priority, escalation.category, reason
            )
        )
        if announce:
            turn.say(turn.t.gettext("escalated", case=escalation.id))

    def _triage_first(self, turn: _Turn) -> bool:
        """P1 and P2 go to people at once, whatever the KB could say. True when handled."""
        if self.triager is None:
            return False
        verdict = self.triager.classify(turn.text, vip=turn.creator.is_vip)
        turn.inbound.priority, turn.inbound.category = verdict.priority, verdict.category
        if verdict.priority not in ("P1", "P2"):
            return False
        assert turn.conversation.id is not None
        case = store.open_escalation(turn.session, conversation_id=turn.conversation.id)
        if case is not None:
            if verdict.priority < case.priority:
                case.priority, case.category = verdict.priority, verdict.category
                case.due_at = self.policy.due(verdict.priority, as_utc(case.created_at))
                casework.post(turn.session, case, Kind.UPDATE)
                self.timekeeper.priority_changed(turn.session, case, self.clock())
            casework.post(
                turn.session,
                case,
                Kind.THREAD,
                role="triage",
                reason=encode(verdict.reasons) or verdict.category,
                priority=verdict.priority,
            )
        else:
            if verdict.priority == "P2":
                self._sop_answer(turn)
            self._escalate(
                turn,
                reasons=verdict.reasons,
                fallback=verdict.category,
                priority=verdict.priority,
                category=verdict.category,
                announce=verdict.priority != "P1",
            )
        if verdict.priority == "P1":
            turn.say(safety_message(turn.t, verdict.category, turn.creator, turn.message))
        elif case is not None:
            turn.say(turn.t.gettext("escalated", case=case.id))
        return True

    def open_case(self, session: Session, case: Escalation, now: datetime) -> None:
        """A new case (opened, or a transfer's new card): its card, the conversation so far in
        its thread, and its SLA timers."""
        session.add(case)
        session.flush()
        casework.post(session, case, Kind.CARD)
        transcript = store.transcript(session, conversation_id=case.conversation_id)
        casework.post(session, case, Kind.THREAD, role="transcript", lines=transcript)
        self.timekeeper.case_opened(session, case, now)

    def _sop_answer(self, turn: _Turn) -> None:
        """A P2 creator gets the KB's answer at once when it is a confident one (what to do now:
        secure the account, report the user…) and a person follows up in the case just opened."""
        matcher = self.kb.matcher()
        result = matcher.match(turn.text, turn.t.locale)
        article = matcher.kb.get(result.article_id) if result.article_id else None
        if result.action is Action.ANSWER and article is not None:
            answer = article.answer(turn.t.locale)
            turn.replies.append(OutgoingMessage(answer, article_id=article.id))

    def _while_with_people(self, turn: _Turn, state: ConversationState) -> None:
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
            casework.post(turn.session, case, Kind.THREAD, role="nudge")
        if turn.message.attachments:
            return turn.say(turn.t.gettext("attachment_added_to_case", case=case.id))
        waited = (self.clock() - as_utc(case.created_at)).total_seconds()
        turn.say(turn.t.gettext("still_waiting", case=case.id, waited=turn.t.timedelta(waited)))

    def _status(self, turn: _Turn) -> None:
        assert turn.conversation.id is not None
        case = store.open_escalation(turn.session, conversation_id=turn.conversation.id)
        if case is None:
            return turn.say(turn.t.gettext("status_none"))
        zone = turn.creator.timezone
        opened = turn.t.datetime(as_utc(case.created_at), zone)
        if case.status == EscalationStatus.ASSIGNED:
            return turn.say(turn.t.gettext("status_assigned", case=case.id, opened=opened))
        due = as_utc(case.due_at or self.policy.due(case.priority, as_utc(case.created_at)))
        if due <= self.clock():
            return turn.say(turn.t.gettext("status_late", case=case.id, opened=opened))
        turn.say(
            turn.t.gettext(
                "status_open", case=case.id, opened=opened, due=turn.t.datetime(due, zone)
            )
        )

    def _change_language(self, turn: _Turn) -> None:
        found = command(turn.text)
        wanted = found[1].strip().casefold() if found else ""
        if wanted in SUPPORTED_LOCALES:
            turn.creator.locale = wanted
            turn.creator.locale_chosen = True
            turn.t = translator(wanted)
            return turn.say(turn.t.gettext("language_set"))
        turn.say(turn.t.gettext("language_pick"), LANGUAGE_BUTTONS)

    def _record_satisfaction(self, turn: _Turn) -> None:
        """``csat:<case>:<1-5>`` from the survey buttons; only for this conversation's cases."""
        _, case_id, score = [*turn.text.split(":"), "", ""][:3]
        case = turn.session.get(Escalation, int(case_id)) if case_id.isdigit() else None
        valid = score.isdigit() and 1 <= int(score) <= 5
        if case is None or case.conversation_id != turn.conversation.id or not valid:
            return turn.say(turn.t.gettext("no_words"))
        case.satisfaction = int(score)
        turn.say(turn.t.gettext("survey_thanks"))

    @staticmethod
    def _article_buttons(articles: list[Article], locale: str) -> tuple[Suggestion, ...]:
        return tuple(Suggestion(a.title(locale), ARTICLE_PAYLOAD + a.id) for a in articles)

    @staticmethod
    def _human_button(t: Translator) -> tuple[Suggestion, ...]:
        return (Suggestion(t.gettext("talk_to_agent"), HUMAN_PAYLOAD),)

    def _store_reply(
        self, session: Session, conversation: Conversation, reply: OutgoingMessage, sender: Sender
    ) -> Message:
        return store.add_reply(session, conversation, reply, sender, when=self.clock())

    def mark_delivered(
        self, message_ids: Sequence[int], platform_message_id: str | None = None
    ) -> None:
        """The adapter delivered these outbound messages (the console, as it prints them)."""
        with Session(self.engine) as session:
            for message_id in message_ids:
                store.mark_delivered(
                    session,
                    message_id=message_id,
                    when=self.clock(),
                    platform_message_id=platform_message_id,
                )
            session.commit()

    # -- agents -------------------------------------------------------------------

    def case_question_and_answer(self, escalation_id: int) -> tuple[str, str]:
        """The creator's last words and the agent's last answer: a KB draft's starting point."""
        with Session(self.engine) as session:
            case = session.get(Escalation, escalation_id)
            if case is None:
                return "", ""
            lines = store.transcript(session, conversation_id=case.conversation_id)
        question = next((t for role, t in reversed(lines) if role == Sender.CREATOR), "")
        answer = next((t for role, t in reversed(lines) if role == Sender.AGENT), "")
        return question, answer

    def handle_tick(self, now: datetime | None = None) -> int:
        """Fire due timers (SLA reminders and breaches, page repeats, nudges, auto-close);
        ``puente worker`` calls this every few seconds. The number of timers fired."""
        return self.timekeeper.tick(now or self.clock())

    def handle_agent_action(self, action: AgentAction) -> HandlerResult:
        """Take, return, resolve, transfer, save to the KB or reply (:mod:`handlers.cases.desk`)."""
        return AgentDesk(self).handle(action)


__all__ = ["ActionRejected", "AgentAction", "AgentActionKind", "HandlerResult", "Puente"]
