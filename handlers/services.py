"""The one frozen bundle of services the core runs on, built once by ``bot.app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from handlers.cases.casework import Routing
from handlers.common.utc import utcnow
from handlers.conversation.policy import ConversationPolicy
from handlers.kb.source import KbSource
from handlers.oncall.sla import OncallPolicy
from handlers.triage.classifier import Triager


@dataclass(frozen=True, slots=True)
class Services:
    engine: Engine
    kb: KbSource
    policy: ConversationPolicy = field(default_factory=ConversationPolicy)
    routing: Routing = field(default_factory=Routing)
    triager: Triager | None = None
    clock: Callable[[], datetime] = utcnow
    oncall: OncallPolicy = field(default_factory=OncallPolicy)
