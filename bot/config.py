"""One typed settings object, read from the environment (and an optional ``.env`` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.kb.matching.semantic import default_cache_dir
from handlers.kb.source import SHIPPED_KB
from handlers.oncall.schedule import parse_handoff
from handlers.oncall.sla import parse_sla
from handlers.storage.db import DEFAULT_DATABASE_URL


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=_env("DATABASE_URL"))
    kb_path: Path = Field(SHIPPED_KB, validation_alias=_env("PUENTE_KB_PATH"))
    default_locale: str = Field("es", validation_alias=_env("PUENTE_DEFAULT_LOCALE"))
    # Percent probabilities of the learned KB decision; unset = the shipped model's tuned ones.
    answer_threshold: float | None = Field(
        None, ge=0, le=100, validation_alias=_env("PUENTE_ANSWER_THRESHOLD")
    )
    clarify_threshold: float | None = Field(
        None, ge=0, le=100, validation_alias=_env("PUENTE_CLARIFY_THRESHOLD")
    )
    semantic: bool = Field(True, validation_alias=_env("PUENTE_SEMANTIC"))
    triage: bool = Field(True, validation_alias=_env("PUENTE_TRIAGE"))
    cache_dir: Path = Field(
        default_factory=default_cache_dir, validation_alias=_env("PUENTE_CACHE_DIR")
    )
    max_new_embeddings: int = Field(1000, ge=0, validation_alias=_env("PUENTE_MAX_NEW_EMBEDDINGS"))
    max_misses: int = Field(2, ge=1, validation_alias=_env("PUENTE_MAX_MISSES"))
    kb_reload_seconds: float = Field(2.0, ge=0, validation_alias=_env("PUENTE_KB_RELOAD_SECONDS"))
    telegram_bot_token: str | None = Field(None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    telegram_base_url: str | None = Field(None, validation_alias=_env("TELEGRAM_BASE_URL"))
    telegram_base_file_url: str | None = Field(
        None, validation_alias=_env("TELEGRAM_BASE_FILE_URL")
    )
    telegram_webhook_url: str | None = Field(None, validation_alias=_env("TELEGRAM_WEBHOOK_URL"))
    telegram_webhook_secret: str | None = Field(
        None, validation_alias=_env("TELEGRAM_WEBHOOK_SECRET")
    )
    telegram_max_per_second: float = Field(
        30.0, gt=0, validation_alias=_env("TELEGRAM_MAX_PER_SECOND")
    )
    slack_bot_token: str | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    slack_app_token: str | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str | None = Field(None, validation_alias=_env("SLACK_API_URL"))
    slack_locale: Literal["es", "en"] = Field("es", validation_alias=_env("SLACK_LOCALE"))
    slack_escalation_channel: str | None = Field(
        None, validation_alias=_env("SLACK_ESCALATION_CHANNEL")
    )
    slack_agents: str = Field("", validation_alias=_env("SLACK_AGENTS"))
    routes: str = Field("", validation_alias=_env("PUENTE_ROUTES"))
    vip_routes: str = Field("", validation_alias=_env("PUENTE_VIP_ROUTES"))
    teams: str = Field("", validation_alias=_env("PUENTE_TEAMS"))
    root_causes: str = Field(
        "bug de la app,pago retrasado,error del creador,moderación,cuenta comprometida,"
        "consulta sin incidencia,otro",
        validation_alias=_env("PUENTE_ROOT_CAUSES"),
    )
    claim_seconds: float = Field(60.0, gt=0, validation_alias=_env("PUENTE_CLAIM_SECONDS"))
    oncall_rotation: str = Field("", validation_alias=_env("PUENTE_ONCALL_ROTATION"))
    oncall_handoff: str = Field("mon 10:00", validation_alias=_env("PUENTE_ONCALL_HANDOFF"))
    oncall_tz: str = Field("America/Mexico_City", validation_alias=_env("PUENTE_ONCALL_TZ"))
    sla: str = Field("", validation_alias=_env("PUENTE_SLA"))
    page_repeat_minutes: float = Field(
        5.0, gt=0, validation_alias=_env("PUENTE_PAGE_REPEAT_MINUTES")
    )
    page_repeats: int = Field(2, ge=1, validation_alias=_env("PUENTE_PAGE_REPEATS"))
    nudge_after_minutes: float = Field(
        120.0, gt=0, validation_alias=_env("PUENTE_NUDGE_AFTER_MINUTES")
    )
    auto_close_after_hours: float = Field(
        24.0, gt=0, validation_alias=_env("PUENTE_AUTO_CLOSE_AFTER_HOURS")
    )
    worker_seconds: float = Field(5.0, gt=0, validation_alias=_env("PUENTE_WORKER_SECONDS"))
    repeat_days: int = Field(10, ge=0, le=365, validation_alias=_env("PUENTE_REPEAT_DAYS"))
    host: str = Field("0.0.0.0", validation_alias=_env("HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=_env("PORT"))
    log_level: str = Field("WARNING", validation_alias=_env("PUENTE_LOG_LEVEL"))
    log_format: Literal["text", "json"] = Field("text", validation_alias=_env("PUENTE_LOG_FORMAT"))
    max_body_bytes: int = Field(1_048_576, ge=1024, validation_alias=_env("PUENTE_MAX_BODY_BYTES"))
    health_timeout: float = Field(2.0, gt=0, validation_alias=_env("PUENTE_HEALTH_TIMEOUT"))
    worker_late: float = Field(120.0, gt=0, validation_alias=_env("PUENTE_WORKER_LATE_SECONDS"))

    @field_validator("oncall_handoff")
    @classmethod
    def _handoff(cls, value: str) -> str:
        parse_handoff(value)
        return value

    @field_validator("oncall_tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("sla")
    @classmethod
    def _sla(cls, value: str) -> str:
        parse_sla(value)
        return value


def pairs(value: str) -> tuple[tuple[str, str], ...]:
    """``"a=C1, b=C2"`` → ``(("a", "C1"), ("b", "C2"))``; blanks and malformed items skipped."""
    found = []
    for item in value.split(","):
        key, sep, target = item.partition("=")
        if sep and key.strip() and target.strip():
            found.append((key.strip(), target.strip()))
    return tuple(found)


def items(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())
