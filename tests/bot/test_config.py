"""Settings: grouped per concern, read from the same environment variables as ever, lists and
maps parsed once at load time, and a malformed item refused with its variable named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from tests.bot.test_cli import puente as run_puente

ENVIRONMENT = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAF4k3PuenteTestToken-0123456789abc",
    "TELEGRAM_MAX_PER_SECOND": "12",
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_AGENTS": "U0ANA, S0TEAM,,W0JO",
    "SLACK_ESCALATION_CHANNEL": "C0DESK",
    "PUENTE_ROUTES": "pagos=C0PAY, moderación = C0MOD,",
    "PUENTE_VIP_ROUTES": "moderación=C0VIP",
    "PUENTE_TEAMS": "Pagos=C0PAY",
    "PUENTE_ROOT_CAUSES": "bug, otro",
    "PUENTE_ONCALL_ROTATION": "U0ANA,U0LU",
    "PUENTE_ONCALL_HANDOFF": "tue 9:00",
    "PUENTE_SLA": "P1=10m/2h",
    "PUENTE_SEMANTIC": "false",
    "PUENTE_MAX_BODY_BYTES": "4096",
    "DATABASE_URL": "sqlite:///x.db",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_the_same_variables_land_in_their_groups_parsed(environment: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.telegram.token == ENVIRONMENT["TELEGRAM_BOT_TOKEN"]
    assert settings.telegram.max_per_second == 12
    assert settings.slack.agents == ("U0ANA", "S0TEAM", "W0JO")
    assert settings.cases.escalation_channel == "C0DESK"
    assert settings.cases.routes == (("pagos", "C0PAY"), ("moderación", "C0MOD"))
    assert settings.cases.vip_routes == (("moderación", "C0VIP"),)
    assert settings.cases.teams == (("Pagos", "C0PAY"),)
    assert settings.cases.root_causes == ("bug", "otro")
    assert settings.oncall.rotation == ("U0ANA", "U0LU")
    assert settings.oncall.handoff == (1, 9)
    assert settings.oncall.sla["P1"].first_response == timedelta(minutes=10)
    assert settings.oncall.sla["P2"].first_response == timedelta(hours=1)  # default kept
    assert settings.matching.semantic is False
    assert settings.operations.max_body_bytes == 4096
    assert settings.operations.database_url == "sqlite:///x.db"


def test_defaults_without_any_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.load(env_file=None)
    assert settings.slack.agents == () and settings.cases.routes == ()
    assert "otro" in settings.cases.root_causes
    assert settings.oncall.handoff == (0, 10)
    assert settings.operations.port == 8000


@pytest.mark.parametrize(
    ("variable", "value", "shown"),
    [
        ("PUENTE_ROUTES", "pagos=C0PAY,moderación", "'moderación'"),
        ("PUENTE_ROUTES", "=C0PAY", "'=C0PAY'"),
        ("PUENTE_VIP_ROUTES", "pagos=", "'pagos='"),
        ("PUENTE_TEAMS", "Pagos C0PAY", "'Pagos C0PAY'"),
        ("SLACK_AGENTS", "U0ANA,@lucia", "'@lucia'"),
        ("PUENTE_ONCALL_ROTATION", "U0ANA,lucia", "'lucia'"),
        ("PUENTE_SLA", "P1=15m", "P1=15m"),
        ("PUENTE_ONCALL_HANDOFF", "someday", "someday"),
        ("PUENTE_ONCALL_TZ", "Mars/Olympus", "Mars/Olympus"),
    ],
)
def test_a_malformed_item_is_refused_naming_its_variable(
    environment: pytest.MonkeyPatch, variable: str, value: str, shown: str
) -> None:
    environment.setenv(variable, value)
    with pytest.raises(ValidationError) as raised:
        Settings()
    message = str(raised.value)
    assert f"{variable}:" in message and shown in message


def test_load_overrides_by_group_and_can_ignore_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PUENTE_ROUTES=pagos=C0ENV\nPUENTE_SEMANTIC=false\n")
    assert Settings().cases.routes == (("pagos", "C0ENV"),)
    hermetic = Settings.load(env_file=None, matching={"semantic": True})
    assert hermetic.cases.routes == () and hermetic.matching.semantic is True


def test_the_cli_names_the_malformed_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PUENTE_TEAMS", "Pagos=C0PAY,Moderación")
    done = run_puente(tmp_path, "chat", stdin=b"hola\n")
    assert done.returncode == 2
    assert "PUENTE_TEAMS: 'Moderación' is not name=value" in done.stderr
