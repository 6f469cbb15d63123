"""``/oncall`` and pages end to end: signed slash commands into the running app, answers posted
to the fake's response URL, pages as DMs and thread mentions through the fake Slack Web API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from handlers.api import Puente
from handlers.cases.casework import Routing
from handlers.oncall.schedule import Rotation
from handlers.oncall.sla import OncallPolicy
from handlers.storage.models import Page, Timer
from handlers.triage.classifier import Rule, Triager
from tests.conftest import Creator
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import post_signed, slash_command
from tests.serving import Service, slack_config, wait_until

QUEUE = "C0ESC"
LUCIA, TOMAS, JANE, OUTSIDER = "U0AGENT1", "U0AGENT2", "U0AGENT3", "U0OTHER"


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(LUCIA, "lucia", real_name="Lucía", locale="es-MX")
        fake.add_user(TOMAS, "tomas", real_name="Tomás", locale="es-AR")
        fake.add_user(JANE, "jane", real_name="Jane", locale="en-US")
        fake.add_user(OUTSIDER, "pedro", real_name="Pedro", locale="es-ES")
        yield fake


@pytest.fixture
def service(puente: Puente, slack_api: FakeSlack) -> Iterator[Service]:
    from handlers.common.utc import utcnow

    puente.routing = Routing(default_queue=QUEUE)
    puente.clock = utcnow  # deliveries wait on the wall clock
    puente.oncall = OncallPolicy(rotation=Rotation((LUCIA, TOMAS), timezone="Europe/Madrid"))
    rules = [Rule("self_harm", "intent to self-harm", (re.compile(r"\btermino con todo\b"),))]
    puente.triager = Triager(rules, [], examples=[])
    running = Service(
        puente,
        slack=slack_config(slack_api, agents=(LUCIA, TOMAS, JANE)),
    ).start()
    yield running
    running.stop()


class Oncall:
    """An agent typing ``/oncall …`` in Slack."""

    def __init__(self, service: Service, slack_api: FakeSlack) -> None:
        self.url = service.base + "/slack/events"
        self.slack_api = slack_api

    def __call__(self, text: str = "", user: str = LUCIA) -> str:
        seen = len(self.slack_api.responses)
        url = self.slack_api.response_url()
        status = post_signed(self.url, *slash_command(text, user_id=user, response_url=url))
        assert status.status == 200
        answer = self.slack_api.wait_for_response(seen + 1)[-1].payload
        assert answer["response_type"] == "ephemeral"
        return str(answer["text"])


@pytest.fixture
def oncall(service: Service, slack_api: FakeSlack) -> Oncall:
    return Oncall(service, slack_api)


def on_call(puente: Puente) -> str:
    with Session(puente.engine) as session:
        user = puente.timekeeper.schedule.now(session, puente.clock()).user
    assert user is not None
    return user


def p1_case(puente: Puente) -> int:
    Creator(puente).says("esta noche termino con todo")
    return 1


def test_help_answers_in_the_agents_slack_language(oncall: Oncall) -> None:
    assert "guardia de soporte" in oncall("help")
    assert "support on-call" in oncall("help", user=JANE)


def test_unknown_subcommands_and_bad_arguments_get_a_hint(oncall: Oncall) -> None:
    assert "/oncall help" in oncall("vacaciones")
    assert "`/oncall ack 123`" in oncall("ack")
    assert "`/oncall page 123`" in oncall("page abc", user=TOMAS)
    assert "list unassigned" in oncall("list p7", user=JANE)
    assert "@person" in oncall("handoff", user=JANE)
    assert "`/oncall ack 123`" in oncall("ack 99999999999999999999999")
    hostile = oncall("<!channel>*hola*")
    assert "<!channel>" not in hostile and "*hola*" not in hostile and "/oncall help" in hostile


def test_only_agents_may_use_it(oncall: Oncall, puente: Puente) -> None:
    p1_case(puente)
    answer = oncall("", user=OUTSIDER)
    assert "Solo el equipo" in answer and "#1" not in answer


def test_a_p1_pages_on_call_by_dm_and_in_the_thread(
    service: Service, slack_api: FakeSlack, puente: Puente
) -> None:
    paged = on_call(puente)
    p1_case(puente)
    service.wake_all()
    dm = slack_api.wait_for("chat.postMessage", channel=slack_api.dm_channel(paged))[0]
    assert "#1" in dm.params["text"] and "P1" in dm.params["text"]
    assert "termino con todo" in dm.params["text"]
    assert slack_api.calls_to("conversations.open", users=paged)
    card = wait_until(
        lambda: [m for m in slack_api.posted(QUEUE) if m.get("thread_ts", m["ts"]) == m["ts"]]
    )[0]
    mention = wait_until(
        lambda: [
            m for m in slack_api.posted(QUEUE, thread_ts=card["ts"]) if f"<@{paged}>" in m["text"]
        ]
    )
    assert "aviso de guardia" in mention[0]["text"]


def test_overview_shows_who_is_on_call_and_urgent_cases_with_sla_left(
    oncall: Oncall, puente: Puente
) -> None:
    empty = oncall()
    assert f"<@{on_call(puente)}>" in empty and "No hay casos P1 ni P2" in empty
    p1_case(puente)
    Creator(puente, chat_id="chat-2").says("/agente")  # a P3: not in the overview
    overview = oncall()
    assert "#1 P1 self_harm" in overview and "para la primera respuesta" in overview
    assert "#2" not in overview
    english = oncall(user=JANE)
    assert "left for the first response" in english and "unassigned" in english


def test_overview_warns_when_no_worker_fires_the_timers(oncall: Oncall, puente: Puente) -> None:
    p1_case(puente)  # its SLA timers are stored; no worker runs in this test
    assert "puente worker" not in oncall()
    with Session(puente.engine) as session:
        for timer in session.exec(select(Timer)).all():
            timer.due_at = puente.clock() - timedelta(minutes=30)
            session.add(timer)
        session.commit()
    assert "30 min de retraso" in oncall() and "`puente worker`" in oncall()
    assert "30 min late" in oncall(user=JANE)


def test_list_filters(oncall: Oncall, puente: Puente) -> None:
    p1_case(puente)
    Creator(puente, chat_id="chat-2").says("/agente")
    everything = oncall("list")
    assert "#1" in everything and "#2" in everything
    assert "#2" not in oncall("list p1") and "#1" in oncall("list p1")
    assert "No hay casos" in oncall("list p2")
    assert "#2" in oncall("list unassigned")
    assert "No hay casos" in oncall("list mine")


def test_ack_stops_the_page(oncall: Oncall, puente: Puente) -> None:
    p1_case(puente)
    assert "confirmado" in oncall("ack 1")
    with Session(puente.engine) as session:
        (page,) = session.exec(select(Page)).all()
    assert page.acked_by == LUCIA and page.acked_at is not None
    assert "no tiene avisos pendientes" in oncall("ack #1")


def test_page_a_case_by_hand(oncall: Oncall, puente: Puente, slack_api: FakeSlack) -> None:
    Creator(puente).says("/agente")
    paged = on_call(puente)
    answer = oncall("page 1", user=JANE)
    assert f"Paged <@{paged}> about case #1" in answer
    dm = slack_api.wait_for("chat.postMessage", channel=slack_api.dm_channel(paged))[0]
    assert f"<@{JANE}>" in dm.params["text"]
    assert "no existe" not in oncall("page 99") and "`/oncall page 123`" in oncall("page 99")


def test_handoff_makes_someone_else_on_call(oncall: Oncall, puente: Puente) -> None:
    scheduled = on_call(puente)
    other = TOMAS if scheduled == LUCIA else LUCIA
    answer = oncall(f"handoff <@{other}|someone>", user=scheduled)
    assert f"<@{other}> está de guardia hasta" in answer
    assert on_call(puente) == other
    assert oncall().startswith(f"De guardia: <@{other}>")


def test_schedule_lists_the_next_shifts(oncall: Oncall) -> None:
    answer = oncall("schedule", user=JANE)
    assert "Europe/Madrid" in answer
    shifts = [line for line in answer.splitlines() if line.startswith("•")]
    assert len(shifts) == 4
    assert {f"<@{LUCIA}>", f"<@{TOMAS}>"} <= {line.split(":")[0][2:] for line in shifts}


def test_stats_give_headline_figures(oncall: Oncall, puente: Puente) -> None:
    p1_case(puente)
    oncall("ack 1")
    stats = oncall("stats", user=JANE)
    assert "Open cases: 1 (P1: 1, P2: 0)" in stats
    assert "Pages: 1, acknowledged: 1" in stats
    assert "*Cases:* 1" in stats
    escalation_rate = stats.split("*Escalation rate:* ")[1].splitlines()[0]
    assert escalation_rate.startswith("100"), stats
