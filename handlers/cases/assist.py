"""Agent assist and case context for the agents' card: the KB's best answers for what the
creator said last, and whether this is a repeat complaint."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.common.text import has_words
from handlers.conversation.intents import detect
from handlers.insights.repeats import RepeatFlag, repeat_flag
from handlers.kb.source import KbSource
from handlers.storage import store
from handlers.storage.models import Conversation, Creator, Escalation

MAX_SUGGESTIONS = 3
MIN_SCORE = 25.0  # below this an article is noise, not a suggestion
LOOK_BACK = 5  # creator messages searched for the latest real question
EXCERPT = 280


@dataclass(frozen=True, slots=True)
class Suggested:
    article_id: str
    title: str
    answer: str  # in the creator's language
    score: float


@dataclass(frozen=True, slots=True)
class CaseContext:
    suggestions: tuple[Suggested, ...] = ()
    repeat: RepeatFlag | None = None


def latest_question(texts: list[str]) -> str:
    """The newest message that asks something (not "quiero hablar con una persona", not a
    button payload); "" when there is none."""
    for text in reversed(texts):
        if has_words(text) and detect(text) is None and not text.startswith(("kb:", "csat:")):
            return text
    return ""


def suggestions(kb: KbSource, text: str, locale: str) -> tuple[Suggested, ...]:
    """The KB's best answers for ``text``, in ``locale``, best first."""
    if not text:
        return ()
    matcher = kb.matcher()
    found = []
    for article_id, score in matcher.rank(text, locale)[:MAX_SUGGESTIONS]:
        article = matcher.kb.get(article_id)
        if article is not None and score >= MIN_SCORE:
            found.append(
                Suggested(article_id, article.title(locale), article.answer(locale), score)
            )
    return tuple(found)


def case_context(
    engine: Engine, kb: KbSource, escalation_id: int, *, repeat_days: int
) -> CaseContext:
    """What the card shows beyond the case's own fields."""
    with Session(engine) as session:
        case = session.get(Escalation, escalation_id)
        conversation = session.get(Conversation, case.conversation_id) if case else None
        creator = session.get(Creator, conversation.creator_id) if conversation else None
        if case is None or creator is None:
            return CaseContext()
        texts = store.recent_inbound_texts(
            session, conversation_id=case.conversation_id, limit=LOOK_BACK
        )
        flag = repeat_flag(session, escalation_id, days=repeat_days, matcher=kb.matcher())
    return CaseContext(suggestions(kb, latest_question(texts), creator.locale), flag)
