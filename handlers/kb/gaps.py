"""KB gaps: what creators ask that the KB can't answer, clustered into "missing topics".

A gap question is a creator's question to the bot (not a command, greeting or request for a
person, and not written to agents while a case was open) that the live KB can't answer with
confidence now, so a topic disappears from the list once an article covers it. Questions are
clustered with rapidfuzz over their normalised tokens
(:mod:`handlers.kb.matching.normalize`), so spelling,
texting forms and word order don't split a topic.

Nothing said in crisis leaks into KB work: a message triage read as P1 or P2, and every
message of a conversation with a P1 or P2 case, is no gap question (the report's workbook and
every KB-work export read gaps from here). A missing topic needs real words (two or more, not
"2") and at least two distinct creators; a question joins a topic only when it shares a word
with it, so short unrelated lines are not grouped on a lucky ratio.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process
from sqlmodel import Session, col, select

from handlers.common.privacy import mask
from handlers.common.text import has_words
from handlers.common.utc import as_utc
from handlers.conversation.intents import detect
from handlers.kb.matching.matcher import Action, Matcher
from handlers.kb.matching.normalize import normalizer
from handlers.storage.models import (
    Conversation,
    Creator,
    Direction,
    Escalation,
    EscalationStatus,
    KbGapDismissal,
    Message,
    Sender,
)

SIMILARITY = 70.0  # token_sort_ratio over normalised tokens, 0..100
SENSITIVE = ("P1", "P2")  # what triage read as critical or urgent never reaches KB work
MIN_CREATORS = 2  # a topic one creator asked is their case, not a missing article
MIN_WORDS = 2
CANDIDATES = 5
MAX_EXAMPLES = 5
PAYLOAD_PREFIXES = ("/", "kb:", "csat:")


@dataclass(frozen=True, slots=True)
class GapQuestion:
    text: str
    locale: str
    escalated: bool
    creator: int | None = None


@dataclass(frozen=True, slots=True)
class GapCluster:
    """A missing topic: ``label`` is its most frequent wording, ``examples`` distinct ones."""

    key: str
    label: str
    locale: str
    count: int
    escalated: int
    examples: tuple[str, ...]
    creators: int = 0  # distinct creators who asked


def gap_questions(
    session: Session,
    since: datetime,
    until: datetime,
    matcher: Matcher,
    *,
    limit: int | None = None,
) -> list[GapQuestion]:
    """Creators' questions in [since, until) the live KB doesn't answer with confidence; with
    ``limit``, only the newest ``limit`` messages are read (each costs a KB match)."""
    query = (
        select(
            Message.conversation_id,
            Message.text,
            Message.created_at,
            Creator.locale,
            Message.priority,
            Creator.id,
        )
        .join(Conversation, col(Conversation.id) == Message.conversation_id)
        .join(Creator, col(Creator.id) == Conversation.creator_id)
        .where(
            Message.direction == Direction.IN,
            Message.sender == Sender.CREATOR,
            Message.created_at >= since,
            Message.created_at < until,
        )
        .order_by(col(Message.id).desc())
    )
    rows = list(reversed(session.exec(query if limit is None else query.limit(limit)).all()))
    cases = _cases_by_conversation(session, {row[0] for row in rows})
    found = []
    for conversation_id, text, created, locale, priority, creator in rows:
        text = text.strip()
        own = cases.get(conversation_id, [])
        if priority in SENSITIVE or any(case.priority in SENSITIVE for case in own):
            continue
        if not _is_question(text):
            continue
        if any(_with_people(case, as_utc(created)) for case in own):
            continue
        if matcher.match(text, locale).action is Action.ANSWER:
            continue
        escalated = any(text in case.summary for case in own)
        found.append(GapQuestion(text, locale, escalated, creator))
    return found


def cluster(
    questions: Sequence[GapQuestion], *, similarity: float = SIMILARITY
) -> list[GapCluster]:
    """Greedy clustering: the most frequent wordings lead; each question joins the closest
    leader of its locale at ``similarity`` or more, or leads a new cluster. Biggest first."""
    keyed = [(q, _normal(q)) for q in questions]
    keyed = [(q, norm) for q, norm in keyed if norm]
    frequency = Counter(norm for _, norm in keyed)
    keyed.sort(key=lambda item: (-frequency[item[1]], item[1], item[0].text))
    leaders: list[str] = []
    members: list[list[GapQuestion]] = []
    for question, norm in keyed:
        scope = [
            n if m[0].locale == question.locale else ""
            for n, m in zip(leaders, members, strict=True)
        ]
        best = _closest_sharing_a_word(norm, scope, similarity)
        if best is None:
            leaders.append(norm)
            members.append([question])
        else:
            members[best].append(question)
    clusters = [_summarise(leader, group) for leader, group in zip(leaders, members, strict=True)]
    return sorted(clusters, key=lambda c: (-c.count, c.label))


def kb_gaps(
    session: Session,
    since: datetime,
    until: datetime,
    matcher: Matcher,
    *,
    include_dismissed: bool = False,
    limit: int | None = None,
) -> list[GapCluster]:
    """The missing topics of a window, biggest first, without those already rejected."""
    clusters = cluster(gap_questions(session, since, until, matcher, limit=limit))
    clusters = [c for c in clusters if c.creators >= MIN_CREATORS]
    if include_dismissed:
        return clusters
    dismissed = set(session.exec(select(KbGapDismissal.key)).all())
    return [c for c in clusters if c.key not in dismissed]


def _closest_sharing_a_word(norm: str, scope: list[str], similarity: float) -> int | None:
    """The index of the closest leader at ``similarity`` or more that shares a word."""
    if not scope:
        return None
    words = set(norm.split())
    found = process.extract(
        norm, scope, scorer=fuzz.token_sort_ratio, score_cutoff=similarity, limit=CANDIDATES
    )
    return next((index for leader, _score, index in found if words & set(leader.split())), None)


def _is_question(text: str) -> bool:
    if not has_words(text) or text.casefold().startswith(PAYLOAD_PREFIXES):
        return False
    real = [word for word in text.split() if sum(ch.isalpha() for ch in word) >= 2]
    return len(real) >= MIN_WORDS and detect(text) is None


def _normal(question: GapQuestion) -> str:
    return " ".join(sorted(set(normalizer(question.locale).tokens(question.text))))


def _summarise(leader: str, group: Iterable[GapQuestion]) -> GapCluster:
    group = list(group)
    wordings = Counter(mask(q.text) for q in group)  # shown to agents, maybe published: no secrets
    ranked = sorted(wordings, key=lambda text: (-wordings[text], len(text), text))
    locale = group[0].locale
    key = hashlib.sha1(f"{locale}:{leader}".encode()).hexdigest()[:12]
    return GapCluster(
        key=key,
        label=ranked[0],
        locale=locale,
        count=len(group),
        escalated=sum(q.escalated for q in group),
        examples=tuple(ranked[:MAX_EXAMPLES]),
        creators=len({q.creator for q in group}),
    )


def _cases_by_conversation(
    session: Session, conversation_ids: set[int]
) -> dict[int, list[Escalation]]:
    found: dict[int, list[Escalation]] = {}
    if not conversation_ids:
        return found
    for case in session.exec(
        select(Escalation).where(col(Escalation.conversation_id).in_(conversation_ids))
    ).all():
        found.setdefault(case.conversation_id, []).append(case)
    return found


def _with_people(case: Escalation, moment: datetime) -> bool:
    """Was the creator talking to agents (a case open) when they wrote this?"""
    if moment <= as_utc(case.created_at):
        return False
    if case.resolved_at is not None:
        return moment < as_utc(case.resolved_at)
    return case.status in (EscalationStatus.OPEN, EscalationStatus.ASSIGNED)
