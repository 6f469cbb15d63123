"""Random and hostile input never crashes the normaliser, the matcher, triage or the handler."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.kb_source import SHIPPED_KB, KbSource
from handlers.normalize import normalizer
from handlers.router import Puente
from handlers.text import clean, fold, storable
from handlers.triage import shipped
from tests.conftest import Creator

ANY_TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), min_size=0, max_size=400
)
HOSTILE = st.sampled_from(
    [
        "\u202e\u200b\u2066" * 50,
        "'; DROP TABLE message; --",
        "<!channel> <@U123> <https://x|y> & <b>",
        "%s%s%s{0}{case}",
        "\x00" * 20,
        "مرحبا بالعالم",
        "🔥" * 500,
        "a" * 5000,
    ]
)
MATCHER = KbSource(path=SHIPPED_KB).matcher()
TRIAGER = shipped(None)
counter = itertools.count()


@settings(max_examples=150, deadline=None)
@given(st.one_of(ANY_TEXT, HOSTILE))
def test_text_helpers_and_matching_never_crash(text: str) -> None:
    assert isinstance(fold(text), str)
    assert "\x00" not in storable(text)
    assert "\u202e" not in clean(text)
    for locale in ("es", "en", "pt"):
        assert all(isinstance(t, str) and t for t in normalizer(locale).tokens(text))
    result = MATCHER.match(text, "es")
    assert result.action in {"answer", "clarify", "escalate"}
    verdict = TRIAGER.classify(text)
    assert verdict.priority in {"P1", "P2", "P3", "P4"}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(ANY_TEXT, HOSTILE))
def test_the_handler_stores_and_answers_anything(puente: Puente, text: str) -> None:
    creator = Creator(puente, chat_id=f"chat-{next(counter)}")
    result = creator.says(text)
    assert result.replies and all(r.text for r in result.replies)
