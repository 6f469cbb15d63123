"""Every thread role the core writes has a Slack renderer; an unknown role is not a nudge."""

from __future__ import annotations

import pytest

from bot.adapters.slack.threads import RENDERERS, thread_text
from handlers.common.i18n import translator
from handlers.contract.roles import ThreadRole

FULL = {
    "lines": [["creator", "hola"], ["bot", "¿en qué te ayudo?"]],
    "author": "Ana <@U1>",
    "text": "me <!channel> ayudan",
    "attachments": ["photo"],
    "agent": "U_AGENT",
    "priority": "P2",
    "category": "harassment",
    "reason": "rule:harassment",
    "article": "live-eligibility",
    "user": "U_ONCALL",
    "attempt": 2,
    "target": "first_response",
    "left": 300,
}


def test_every_role_has_a_renderer() -> None:
    assert set(RENDERERS) == set(ThreadRole)


@pytest.mark.parametrize("locale", ["es", "en"])
@pytest.mark.parametrize("role", list(ThreadRole))
def test_every_role_renders_in_each_locale(role: ThreadRole, locale: str) -> None:
    t = translator(locale)
    full = thread_text({**FULL, "role": role.value}, t)
    bare = thread_text({"role": role.value}, t)
    assert full.strip() and bare.strip()
    assert "<!channel>" not in full


def test_roles_render_differently() -> None:
    t = translator("es")
    texts = {thread_text({**FULL, "role": role.value}, t) for role in ThreadRole}
    assert len(texts) == len(ThreadRole)


def test_an_unknown_role_is_an_error_not_a_nudge() -> None:
    with pytest.raises(ValueError):
        thread_text({"role": "mystery"}, translator("es"))
