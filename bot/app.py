"""Wiring: the only place that knows settings, database, KB and handlers together."""

from __future__ import annotations

from bot.config import Settings
from handlers.db import make_engine
from handlers.kb_source import KbSource
from handlers.matcher import MatchPolicy
from handlers.router import ConversationPolicy, Puente
from handlers.semantic import SentenceEncoder, load_encoder


def match_policy(settings: Settings) -> MatchPolicy:
    return MatchPolicy(
        answer_threshold=settings.answer_threshold,
        clarify_threshold=settings.clarify_threshold,
    )


def encoder(settings: Settings) -> SentenceEncoder | None:
    return load_encoder(settings.cache_dir) if settings.semantic else None


def build_puente(settings: Settings) -> Puente:
    engine = make_engine(settings.database_url)
    kb = KbSource(
        path=settings.kb_path,
        engine=engine,
        policy=match_policy(settings),
        encoder=encoder(settings),
        check_every=settings.kb_reload_seconds,
    )
    return Puente(engine=engine, kb=kb, policy=ConversationPolicy(max_misses=settings.max_misses))
