"""A P1 case's card gives the triage reason in the language the Slack adapter is set to, over
real HTTP: the Telegram fake brings the creator's message, the Slack fake receives the card."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from handlers.api import Puente
from handlers.cases.casework import Routing
from handlers.common.utc import utcnow
from handlers.triage.classifier import Rule, Triager
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import Service, slack_config, telegram_config, wait_until

QUEUE = "C0ESC"
EXPECTED = {
    "es": "intención de quitarse la vida: 'termino con todo'",
    "en": "intent to kill oneself: 'termino con todo'",
}


@pytest.fixture(params=["es", "en"])
def agents_locale(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(puente: Puente, agents_locale: str) -> Iterator[tuple[FakeSlack, FakeTelegram]]:
    rule = Rule("self_harm", "triage_reason_self_harm_intent", (re.compile(r"termino con todo"),))
    puente.triager = Triager([rule], [], examples=[])
    puente.routing = Routing(default_queue=QUEUE)
    puente.clock = utcnow  # delivery retries wait on the wall clock
    with FakeSlack() as slack_api, FakeTelegram() as telegram_api:
        service = Service(
            puente,
            telegram=telegram_config(telegram_api),
            slack=slack_config(slack_api, locale=agents_locale),
        ).start()
        try:
            yield slack_api, telegram_api
        finally:
            service.stop()


def test_a_p1_cards_reason_is_in_the_agents_language(
    served: tuple[FakeSlack, FakeTelegram], agents_locale: str
) -> None:
    slack_api, telegram_api = served
    telegram_api.user_sends(7770002, "ya no aguanto, esta noche termino con todo")
    (card,) = wait_until(lambda: slack_api.posted(QUEUE)[:1])
    shown = json.dumps(card["blocks"], ensure_ascii=False)
    assert EXPECTED[agents_locale] in shown
    other = "en" if agents_locale == "es" else "es"
    assert EXPECTED[other] not in shown and '"key"' not in shown
