"""Wiring: the only place that knows settings, database, KB and handlers together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings, items, pairs
from handlers.api import Puente
from handlers.cases.casework import Routing
from handlers.conversation.policy import ConversationPolicy
from handlers.kb.matching.matcher import MatchPolicy
from handlers.kb.matching.semantic import SentenceEncoder, load_encoder
from handlers.kb.source import KbSource
from handlers.oncall.schedule import Rotation, parse_handoff
from handlers.oncall.sla import OncallPolicy, parse_sla
from handlers.services import Services
from handlers.storage import store
from handlers.storage.db import make_engine
from handlers.triage.classifier import Benign, Triager
from handlers.triage.classifier import shipped as shipped_triager


def match_policy(settings: Settings) -> MatchPolicy:
    return MatchPolicy(
        answer_threshold=settings.answer_threshold,
        clarify_threshold=settings.clarify_threshold,
        max_new_embeddings=settings.max_new_embeddings,
    )


def encoder(settings: Settings) -> SentenceEncoder | None:
    return load_encoder(settings.cache_dir) if settings.semantic else None


def kb_questions(kb: KbSource) -> Callable[[], Benign | None]:
    """The live KB's question variants as the triager's benign neighbours: the vectors the
    matcher's semantic index already holds, rebuilt only when the KB reloads."""
    last: list[tuple[object, Benign]] = []

    def current() -> Benign | None:
        index = kb.matcher().semantic
        if index is None:
            return None
        if not last or last[0][0] is not index:
            owners = tuple(np.repeat(np.array(index.articles, dtype=object), index.lengths))
            last[:] = [(index, Benign(index.matrix, owners, index.texts))]
        return last[0][1]

    return current


def triager(
    settings: Settings,
    sentence_encoder: SentenceEncoder | None,
    engine: Engine,
    kb: KbSource | None = None,
) -> Triager | None:
    """The shipped triager plus what agents taught it (their corrections, from the database),
    calmed by the live KB's questions."""
    if not settings.triage:
        return None
    reader = shipped_triager(sentence_encoder)
    reader.benign = kb_questions(kb) if kb is not None else None
    with Session(engine) as session:
        for text, category in store.triage_examples(session):
            reader.learn(text, category)
    return reader


def oncall_policy(settings: Settings) -> OncallPolicy:
    weekday, hour = parse_handoff(settings.oncall_handoff)
    rotation = Rotation(items(settings.oncall_rotation), weekday, hour, settings.oncall_tz)
    return OncallPolicy(
        rotation=rotation,
        sla=parse_sla(settings.sla),
        page_repeat=timedelta(minutes=settings.page_repeat_minutes),
        page_repeats=settings.page_repeats,
        nudge_after=timedelta(minutes=settings.nudge_after_minutes),
        close_after=timedelta(hours=settings.auto_close_after_hours),
        worker_late=timedelta(seconds=settings.worker_late),
    )


def build_puente(settings: Settings) -> Puente:
    return Puente(build_services(settings))


def build_services(settings: Settings) -> Services:
    """The one bundle every collaborator of the core takes its services from."""
    engine = make_engine(settings.database_url)
    sentence_encoder = encoder(settings)
    kb = KbSource(
        path=settings.kb_path,
        engine=engine,
        policy=match_policy(settings),
        encoder=sentence_encoder,
        check_every=settings.kb_reload_seconds,
    )
    routing = Routing(
        default_queue=settings.slack_escalation_channel,
        by_category=pairs(settings.routes),
        vip_by_category=pairs(settings.vip_routes),
        teams=pairs(settings.teams),
    )
    oncall = oncall_policy(settings)
    return Services(
        engine=engine,
        kb=kb,
        policy=ConversationPolicy(
            max_misses=settings.max_misses, response_minutes=oncall.sla.response_minutes()
        ),
        routing=routing,
        triager=triager(settings, sentence_encoder, engine, kb),
        oncall=oncall,
    )
