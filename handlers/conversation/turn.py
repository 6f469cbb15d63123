"""A creator's turn: the message stored (once, whatever the platform retries), flood control,
then the intent decides who answers; the replies go to the outbox in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from handlers.cases.opening import CaseOpener
from handlers.common.i18n import N_, negotiate, timezone_for, translator
from handlers.common.text import clean, has_words, storable
from handlers.common.utc import as_utc
from handlers.contract.actions import SURVEY_PAYLOAD
from handlers.contract.messages import IncomingMessage
from handlers.contract.results import HandlerResult
from handlers.conversation import offers, smalltalk
from handlers.conversation.commands import LANGUAGE_BUTTONS, Commands
from handlers.conversation.context import Turn
from handlers.conversation.intents import Intent, detect
from handlers.conversation.language import LanguageStreaks, message_locale
from handlers.conversation.policy import ConversationPolicy
from handlers.conversation.states import Event, bot_answers, next_state
from handlers.kb.answers import KbAnswers
from handlers.storage import store
from handlers.storage.models import (
    Conversation,
    ConversationState,
    Creator,
    Direction,
    Message,
    Sender,
)
from handlers.triage.reasons import ASKED_FOR_PERSON, Reason

Received = tuple[Creator, Conversation, Message]
RECEIVE_TRIES = 3  # creator, conversation, message: each insert may meet a racing twin
SMALL_TALK = {
    Intent.GREETING: N_("greeting"),
    Intent.THANKS: N_("thanks"),
    Intent.GOODBYE: N_("goodbye"),
    Intent.LAUGHTER: N_("laughter"),
}


class TurnTaker:
    def __init__(
        self,
        *,
        engine: Engine,
        policy: ConversationPolicy,
        clock: Callable[[], datetime],
        opener: CaseOpener,
        answers: KbAnswers,
        commands: Commands,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock
        self.opener = opener
        self.answers = answers
        self.commands = commands
        self.language_streaks = LanguageStreaks()

    def handle(self, message: IncomingMessage, *, inbox_row: int | None = None) -> HandlerResult:
        """Store the message, decide, and store the replies (the outbox) in one transaction.

        ``inbox_row``: the adapter's stored raw update (:class:`~handlers.delivery.inbox.Inbox`),
        marked processed in the same transaction, so "answered" and "finished" can't disagree
        after a crash. Should deciding fail, the message alone is still stored before the error
        goes up.
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
        self, session: Session, message: IncomingMessage, text: str, received: Received
    ) -> tuple[Turn, list[Message]]:
        """The turn's replies and effects, with the replies added to the session's outbox."""
        creator, conversation, inbound = received
        text = offers.picked(session, inbound, text) or text
        assert creator.id is not None
        locale, switch = message_locale(
            self.language_streaks, creator.id, creator.locale, creator.locale_chosen, text
        )
        if switch:
            creator.locale = locale
        turn = Turn(session, creator, conversation, translator(locale), text, message, inbound)
        if self._flooding(turn):
            self._warn_once(turn)
        else:
            self._respond(turn)
        now = self.clock()
        outbox = [
            store.add_reply(session, conversation, r, Sender.BOT, when=now) for r in turn.replies
        ]
        conversation.updated_at = now
        return turn, outbox

    def _keep_inbound(self, message: IncomingMessage) -> None:
        """After a failed turn: the creator's message is never lost, answered or not."""
        with Session(self.engine) as session:
            if self._receive(session, message) is not None:
                session.commit()

    def _receive(self, session: Session, message: IncomingMessage) -> Received | None:
        """Creator, conversation and the message, flushed (committed with the replies); None
        for a platform's retry.

        Two workers meeting the same new creator (or the same retry) at once: the loser's insert
        fails on a unique constraint, and a later try finds what the winner stored. A second
        conflict is possible (the first creator insert lost, then the conversation's or the
        message's), hence one try per row that can collide.
        """
        for attempt in range(RECEIVE_TRIES):
            try:
                return self._store_inbound(session, message, after_conflict=bool(attempt))
            except IntegrityError:
                session.rollback()
                if attempt == RECEIVE_TRIES - 1:
                    raise
        return None

    def _store_inbound(
        self, session: Session, message: IncomingMessage, *, after_conflict: bool = False
    ) -> Received | None:
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

    @staticmethod
    def _creator_and_conversation(
        session: Session, message: IncomingMessage
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

    def _flooding(self, turn: Turn) -> bool:
        """More than ``flood_messages`` in ``flood_seconds``: stored, but not answered."""
        assert turn.conversation.id is not None
        since = self.clock() - timedelta(seconds=self.policy.flood_seconds)
        recent = store.count_inbound_since(
            turn.session, conversation_id=turn.conversation.id, since=since
        )
        return recent > self.policy.flood_messages

    def _warn_once(self, turn: Turn) -> None:
        now = self.clock()
        warned = turn.conversation.flood_warned_at
        window = timedelta(seconds=self.policy.flood_seconds)
        if warned is None or now - as_utc(warned) > window:
            turn.conversation.flood_warned_at = now
            turn.say(turn.t.gettext("flood_warning"))

    def _respond(self, turn: Turn) -> None:
        if has_words(turn.text) and self.opener.triage_first(turn):
            return
        intent = detect(turn.text)
        if intent is Intent.LANGUAGE:
            return self.commands.change_language(turn)
        if intent is Intent.STATUS:
            return self.commands.status(turn)
        state = ConversationState(turn.conversation.state)
        if not bot_answers(state):
            return self.opener.while_with_people(turn, state)
        if state is ConversationState.RESOLVED:
            turn.conversation.state = next_state(state, Event.REOPEN)
        self._bot_answers(turn, intent)

    def _bot_answers(self, turn: Turn, intent: Intent | None) -> None:
        if intent is Intent.START:
            return turn.say(turn.t.gettext("welcome"), (*LANGUAGE_BUTTONS, *turn.human_button()))
        if turn.text.startswith(SURVEY_PAYLOAD):
            return self.commands.record_satisfaction(turn)
        if intent is Intent.HELP:
            return turn.say(turn.t.gettext("help"))
        if intent is Intent.HUMAN_REQUEST:
            return self.opener.escalate(turn, reasons=(Reason(ASKED_FOR_PERSON),))
        if not has_words(turn.text):
            key = N_("attachment_without_text") if turn.message.attachments else N_("no_words")
            return turn.say(turn.t.gettext(key))
        if intent in SMALL_TALK:
            return turn.say(turn.t.gettext(SMALL_TALK[intent]))
        if (small_talk := smalltalk.reply_key(turn.text)) is not None:
            return turn.say(turn.t.gettext(small_talk))
        self.answers.answer(turn)
