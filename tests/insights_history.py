"""A known week of support, built through the handlers with a fake clock, for the insights
tests: every figure they check can be worked out by hand from this file."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.api import Puente
from handlers.contract.actions import AgentAction, AgentActionKind
from handlers.contract.messages import Platform
from tests.conftest import Creator, FakeClock

AGENT = "U0AGENT1"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday, when the report is made


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` 0 is Monday 23 November 2026."""
    return MONDAY.replace(day=23 + day, hour=hour, minute=minute)


def act(puente: Puente, kind: AgentActionKind, case: int, **fields: object) -> None:
    puente.handle_agent_action(AgentAction(kind, case, AGENT, **fields))  # type: ignore[arg-type]


def build(puente: Puente, clock: FakeClock) -> None:
    """Five creators, three cases:

    - Ana (console, es), Mon 09:00: a KB answer about withdrawals → deflected.
    - Beto (telegram, es), Mon 10:00: withdrawal not arriving (the KB only offers options),
      asks for a person → case 1 (P3). Taken 10:30, answered 10:40, resolved 12:00
      ("pago retrasado"), rated 5. Tue 09:00 the same again → case 2, never taken:
      his 2nd contact about payouts in 10 days.
    - Carla (console, en), Tue 11:00: two questions the KB can't answer → case 3 (P3),
      taken 21:00 (10 h: late for P3's 8 h), resolved Wed 09:00, rated 2.
    - Dani and Eva (console, es), Wed 08:00 and 08:30: the same unanswered question, no case.
    """
    ana = Creator(puente, chat_id="ana")
    beto = Creator(puente, chat_id="beto")
    carla = Creator(puente, locale="en", chat_id="carla")
    dani, eva = Creator(puente, chat_id="dani"), Creator(puente, chat_id="eva")
    telegram = {"platform": Platform.TELEGRAM, "display_name": "Beto"}

    clock.now = at(0, 9)
    ana.says("¿cómo retiro mis diamantes?")

    clock.now = at(0, 10)
    beto.says("mi retiro no llega", **telegram)
    beto.says("quiero hablar con una persona", **telegram)
    clock.now = at(0, 10, 30)
    act(puente, AgentActionKind.TAKE, 1)
    clock.now = at(0, 10, 40)
    act(puente, AgentActionKind.REPLY, 1, text="Lo reviso con pagos.")
    clock.now = at(0, 12)
    act(puente, AgentActionKind.RESOLVE, 1, text="acreditado", root_cause="pago retrasado")
    clock.now = at(0, 12, 5)
    beto.says("csat:1:5", **telegram)

    clock.now = at(1, 9)
    beto.says("mi retiro no llega", **telegram)
    beto.says("/agente", **telegram)

    clock.now = at(1, 11)
    carla.says("can I rename my virtual pet")
    carla.says("how do I rename the virtual pet")
    clock.now = at(1, 21)
    act(puente, AgentActionKind.TAKE, 3)

    clock.now = at(2, 8)
    dani.says("cómo cambio el color del gato virtual")
    clock.now = at(2, 8, 30)
    eva.says("como cambio el color del gato virtual??")

    clock.now = at(2, 9)
    act(
        puente,
        AgentActionKind.RESOLVE,
        3,
        text="not possible",
        root_cause="consulta sin incidencia",
    )
    carla.says("csat:3:2")
    clock.now = NOW
