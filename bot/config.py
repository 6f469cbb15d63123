"""Settings, one group per concern, read from the environment (and an optional ``.env`` file).

The environment variables' names are a contract (deployments set them); each group reads its
own. Lists and ``name=value`` maps are parsed here, once, at load time: a malformed item stops
the start with an error naming its variable, instead of being dropped or failing later.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, InstanceOf, field_validator
from pydantic_core.core_schema import ValidationInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.kb.matching.semantic import default_cache_dir
from handlers.kb.source import SHIPPED_KB
from handlers.oncall.schedule import parse_handoff
from handlers.oncall.sla import SlaTargets, parse_sla
from handlers.storage.db import DEFAULT_DATABASE_URL

ENV_FILE = ".env"
Items = Annotated[tuple[str, ...], NoDecode]
Pairs = Annotated[tuple[tuple[str, str], ...], NoDecode]
SLACK_MEMBER = re.compile(r"[UW][A-Z0-9]{2,}")
SLACK_MEMBER_OR_GROUP = re.compile(r"[UWS][A-Z0-9]{2,}")


def _env(name: str) -> Any:
    return AliasChoices(name)


def items(value: str) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``: items trimmed, blanks skipped."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def pairs(value: str, variable: str = "value") -> tuple[tuple[str, str], ...]:
    """``"a=C1, b=C2"`` → ``(("a", "C1"), ("b", "C2"))``; blanks skipped, and an item that is
    not ``name=value`` raises, naming ``variable``."""
    found = []
    for item in items(value):
        key, sep, target = item.partition("=")
        if not (sep and key.strip() and target.strip()):
            raise ValueError(f"{variable}: {item!r} is not name=value (e.g. pagos=C0123)")
        found.append((key.strip(), target.strip()))
    return tuple(found)


class _Group(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=ENV_FILE,
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,
        frozen=True,
    )

    @classmethod
    def variable(cls, info: ValidationInfo) -> str:
        """The environment variable a field is read from, for error messages."""
        alias = cls.model_fields[str(info.field_name)].validation_alias
        return str(alias.choices[0]) if isinstance(alias, AliasChoices) else str(info.field_name)


def _ids(value: object, variable: str, shape: re.Pattern[str], what: str) -> object:
    if not isinstance(value, str):
        return value
    found = items(value)
    for item in found:
        if not shape.fullmatch(item):
            raise ValueError(f"{variable}: {item!r} is not {what}")
    return found


class TelegramSettings(_Group):
    token: str | None = Field(None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    base_url: str | None = Field(None, validation_alias=_env("TELEGRAM_BASE_URL"))
    base_file_url: str | None = Field(None, validation_alias=_env("TELEGRAM_BASE_FILE_URL"))
    webhook_url: str | None = Field(None, validation_alias=_env("TELEGRAM_WEBHOOK_URL"))
    webhook_secret: str | None = Field(None, validation_alias=_env("TELEGRAM_WEBHOOK_SECRET"))
    max_per_second: float = Field(30.0, gt=0, validation_alias=_env("TELEGRAM_MAX_PER_SECOND"))


class SlackSettings(_Group):
    bot_token: str | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    signing_secret: str | None = Field(None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    app_token: str | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    api_url: str | None = Field(None, validation_alias=_env("SLACK_API_URL"))
    locale: Literal["es", "en"] = Field("es", validation_alias=_env("SLACK_LOCALE"))
    agents: Items = Field((), validation_alias=_env("SLACK_AGENTS"))

    @field_validator("agents", mode="before")
    @classmethod
    def _agents(cls, value: object, info: ValidationInfo) -> object:
        what = "a Slack user id (U…) or user-group id (S…)"
        return _ids(value, cls.variable(info), SLACK_MEMBER_OR_GROUP, what)


class CasesSettings(_Group):
    """Where cases go and what agents pick from when they handle them."""

    escalation_channel: str | None = Field(None, validation_alias=_env("SLACK_ESCALATION_CHANNEL"))
    routes: Pairs = Field((), validation_alias=_env("PUENTE_ROUTES"))
    vip_routes: Pairs = Field((), validation_alias=_env("PUENTE_VIP_ROUTES"))
    teams: Pairs = Field((), validation_alias=_env("PUENTE_TEAMS"))
    root_causes: Items = Field(
        items(
            "bug de la app,pago retrasado,error del creador,moderación,cuenta comprometida,"
            "consulta sin incidencia,otro"
        ),
        validation_alias=_env("PUENTE_ROOT_CAUSES"),
    )
    max_misses: int = Field(2, ge=1, validation_alias=_env("PUENTE_MAX_MISSES"))
    repeat_days: int = Field(10, ge=0, le=365, validation_alias=_env("PUENTE_REPEAT_DAYS"))

    @field_validator("routes", "vip_routes", "teams", mode="before")
    @classmethod
    def _pairs(cls, value: object, info: ValidationInfo) -> object:
        return pairs(value, cls.variable(info)) if isinstance(value, str) else value

    @field_validator("root_causes", mode="before")
    @classmethod
    def _items(cls, value: object) -> object:
        return items(value) if isinstance(value, str) else value


class MatchingSettings(_Group):
    """How creators' messages are read: the KB, its thresholds, the encoder, triage."""

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
    kb_reload_seconds: float = Field(2.0, ge=0, validation_alias=_env("PUENTE_KB_RELOAD_SECONDS"))


class OncallSettings(_Group):
    rotation: Items = Field((), validation_alias=_env("PUENTE_ONCALL_ROTATION"))
    handoff: Annotated[tuple[int, int], NoDecode] = Field(
        parse_handoff("mon 10:00"), validation_alias=_env("PUENTE_ONCALL_HANDOFF")
    )
    tz: str = Field("America/Mexico_City", validation_alias=_env("PUENTE_ONCALL_TZ"))
    sla: Annotated[InstanceOf[SlaTargets], NoDecode] = Field(
        parse_sla(""), validation_alias=_env("PUENTE_SLA")
    )
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
    worker_late: float = Field(120.0, gt=0, validation_alias=_env("PUENTE_WORKER_LATE_SECONDS"))

    @field_validator("rotation", mode="before")
    @classmethod
    def _rotation(cls, value: object, info: ValidationInfo) -> object:
        return _ids(value, cls.variable(info), SLACK_MEMBER, "a Slack user id (U…)")

    @field_validator("handoff", mode="before")
    @classmethod
    def _handoff(cls, value: object, info: ValidationInfo) -> object:
        return _parsed(value, parse_handoff, cls.variable(info))

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str, info: ValidationInfo) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"{cls.variable(info)}: unknown time zone {value!r}") from exc
        return value

    @field_validator("sla", mode="before")
    @classmethod
    def _sla(cls, value: object, info: ValidationInfo) -> object:
        return _parsed(value, parse_sla, cls.variable(info))


def _parsed(value: object, parse: Any, variable: str) -> object:
    if not isinstance(value, str):
        return value
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{variable}: {exc}") from exc


class WhatsAppSettings(_Group):
    """The WhatsApp Cloud API adapter (docs/whatsapp.md); the names are part of the contract."""

    access_token: str | None = Field(None, validation_alias=_env("WHATSAPP_ACCESS_TOKEN"))
    phone_number_id: str = Field("", validation_alias=_env("WHATSAPP_PHONE_NUMBER_ID"))
    app_secret: str = Field("", validation_alias=_env("WHATSAPP_APP_SECRET"))
    verify_token: str = Field("", validation_alias=_env("WHATSAPP_VERIFY_TOKEN"))
    api_url: str = Field("https://graph.facebook.com", validation_alias=_env("WHATSAPP_API_URL"))
    api_version: str = Field("v23.0", validation_alias=_env("WHATSAPP_API_VERSION"))
    reply_template: str | None = Field(None, validation_alias=_env("WHATSAPP_REPLY_TEMPLATE"))


class OperationsSettings(_Group):
    """Running the processes: database, web server, logs, leases and timers."""

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=_env("DATABASE_URL"))
    host: str = Field("0.0.0.0", validation_alias=_env("HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=_env("PORT"))
    log_level: str = Field("WARNING", validation_alias=_env("PUENTE_LOG_LEVEL"))
    log_format: Literal["text", "json"] = Field("text", validation_alias=_env("PUENTE_LOG_FORMAT"))
    max_body_bytes: int = Field(1_048_576, ge=1024, validation_alias=_env("PUENTE_MAX_BODY_BYTES"))
    health_timeout: float = Field(2.0, gt=0, validation_alias=_env("PUENTE_HEALTH_TIMEOUT"))
    claim_seconds: float = Field(60.0, gt=0, validation_alias=_env("PUENTE_CLAIM_SECONDS"))
    worker_seconds: float = Field(5.0, gt=0, validation_alias=_env("PUENTE_WORKER_SECONDS"))


class Settings(BaseModel):
    """Every group, each read from the environment when not given."""

    model_config = ConfigDict(frozen=True)

    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    whatsapp: WhatsAppSettings = Field(default_factory=WhatsAppSettings)
    cases: CasesSettings = Field(default_factory=CasesSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    oncall: OncallSettings = Field(default_factory=OncallSettings)
    operations: OperationsSettings = Field(default_factory=OperationsSettings)

    @classmethod
    def load(cls, env_file: str | None = ENV_FILE, **groups: dict[str, Any]) -> Settings:
        """Every group read from the environment and ``env_file`` (None: the environment
        alone); ``groups`` override fields by group, e.g. ``matching={"semantic": False}``."""
        built = {
            name: group(_env_file=env_file, **groups.get(name, {}))  # type: ignore[call-arg]
            for name, group in GROUPS.items()
        }
        return cls(**built)


GROUPS: dict[str, type[_Group]] = {
    "telegram": TelegramSettings,
    "slack": SlackSettings,
    "whatsapp": WhatsAppSettings,
    "cases": CasesSettings,
    "matching": MatchingSettings,
    "oncall": OncallSettings,
    "operations": OperationsSettings,
}
