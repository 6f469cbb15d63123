"""Wiring: the only place that knows settings, database, KB and handlers together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from handlers.api import Puente
from handlers.cases.casework import Routing
from handlers.conversation.policy import ConversationPolicy
from handlers.kb.matching.matcher import MatchPolicy
from handlers.kb.matching.semantic import SentenceEncoder, load_encoder
from handlers.kb.source import KbSource
from handlers.oncall.schedule import Rotation
from handlers.oncall.sla import OncallPolicy
from handlers.services import Services
from handlers.storage import store
from handlers.storage.db import make_engine
from handlers.triage.classifier import Benign, Triager
from handlers.triage.learned import shipped as shipped_triager


def match_policy(settings: Settings) -> MatchPolicy:
    return MatchPolicy(
        answer_threshold=settings.matching.answer_threshold,
        clarify_threshold=settings.matching.clarify_threshold,
        max_new_embeddings=settings.matching.max_new_embeddings,
    )


def encoder(settings: Settings) -> SentenceEncoder | None:
    return load_encoder(settings.matching.cache_dir) if settings.matching.semantic else None


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
    if not settings.matching.triage:
        return None
    reader = shipped_triager(sentence_encoder)
    reader.benign = kb_questions(kb) if kb is not None else None
    with Session(engine) as session:
        for text, category in store.triage_examples(session):
            reader.learn(text, category)
    return reader


def oncall_policy(settings: Settings) -> OncallPolicy:
    weekday, hour = settings.oncall.handoff
    rotation = Rotation(settings.oncall.rotation, weekday, hour, settings.oncall.tz)
    return OncallPolicy(
        rotation=rotation,
        sla=settings.oncall.sla,
        page_repeat=timedelta(minutes=settings.oncall.page_repeat_minutes),
        page_repeats=settings.oncall.page_repeats,
        nudge_after=timedelta(minutes=settings.oncall.nudge_after_minutes),
        close_after=timedelta(hours=settings.oncall.auto_close_after_hours),
        worker_late=timedelta(seconds=settings.oncall.worker_late),
    )


def build_puente(settings: Settings) -> Puente:
    return Puente(build_services(settings))


def build_services(settings: Settings) -> Services:
    """The one bundle every collaborator of the core takes its services from."""
    engine = make_engine(settings.operations.database_url)
    sentence_encoder = encoder(settings)
    kb = KbSource(
        path=settings.matching.kb_path,
        engine=engine,
        policy=match_policy(settings),
        encoder=sentence_encoder,
        check_every=settings.matching.kb_reload_seconds,
    )
    routing = Routing(
        default_queue=settings.cases.escalation_channel,
        by_category=settings.cases.routes,
        vip_by_category=settings.cases.vip_routes,
        teams=settings.cases.teams,
    )
    oncall = oncall_policy(settings)
    return Services(
        engine=engine,
        kb=kb,
        policy=ConversationPolicy(
            max_misses=settings.cases.max_misses, response_minutes=oncall.sla.response_minutes()
        ),
        routing=routing,
        triager=triager(settings, sentence_encoder, engine, kb),
        oncall=oncall,
    )
