"""An agent's Slack-encoded reply, rendered for the creator's platform (issue #16)."""

from __future__ import annotations

import pytest

from bot.render import decode, for_creator, label_mentions
from handlers.contract.messages import Platform

NAMES = {"U123": "Lucía", "U777": "Marco"}


def plain(text: str) -> str:
    return for_creator(text, Platform.TELEGRAM, name_of=NAMES.get)


@pytest.mark.parametrize(
    ("slack", "creator_reads"),
    [
        ("<!channel> ya está resuelto", "ya está resuelto"),
        ("Hola <!here>, revisado.", "Hola, revisado."),
        ("<!everyone>", ""),
        ("Avisé a <!subteam^S0TEAM|@pagos>.", "Avisé a."),
        ("<@U123> lo revisa", "Lucía lo revisa"),
        ("pregunté a <@U999> y a <@U777>", "pregunté a y a Marco"),
        ("pregunté a <@U999>", "pregunté a"),
        ("<@U555|ana> te escribe", "ana te escribe"),
        ("en <#C0QUEUE|soporte> lo vemos", "en #soporte lo vemos"),
        ("en <#C0QUEUE> lo vemos", "en lo vemos"),
        ("<http://evil.example|click>", "click (http://evil.example)"),
        ("mira <https://ayuda.example/x?a=1&amp;b=2>", "mira https://ayuda.example/x?a=1&b=2"),
        ("<https://x.example|https://x.example>", "https://x.example"),
        ("<mailto:ayuda@puente.example|ayuda@puente.example>", "ayuda@puente.example"),
        ("<!date^1392734382^{date}|13 feb 2014> te pagamos", "13 feb 2014 te pagamos"),
        ("5 &lt; 7 &amp;&amp; 9 &gt; 3", "5 < 7 && 9 > 3"),
        ("escribe &amp;lt;b&amp;gt; tal cual", "escribe &lt;b&gt; tal cual"),
        ("*importante*: paso 1\n    paso 2", "*importante*: paso 1\n    paso 2"),
        ("sin marcas", "sin marcas"),
    ],
)
def test_a_telegram_creator_reads_plain_text(slack: str, creator_reads: str) -> None:
    assert plain(slack) == creator_reads


def test_without_a_name_lookup_mentions_vanish_and_no_id_leaks() -> None:
    text = for_creator("<@U123> te ayuda <@W0ENT>", Platform.TELEGRAM)
    assert text == "te ayuda"
    assert "U123" not in text


@pytest.mark.parametrize("platform", [p for p in Platform if p is not Platform.SLACK])
def test_every_non_slack_platform_gets_decoded_text(platform: Platform) -> None:
    rendered = for_creator("<!channel> &lt;hola&gt; <http://x.example|aquí>", platform)
    assert rendered == "<hola> aquí (http://x.example)"


@pytest.mark.parametrize(
    ("slack", "dm"),
    [
        ("5 &lt; 7 &amp; listo", "5 &lt; 7 &amp; listo"),
        ("<!channel> revisado <@U123>", "revisado <@U123>"),
        ("<!here|here> hola", "hola"),
        ("<https://x.example|aquí>", "<https://x.example|aquí>"),
    ],
)
def test_a_slack_dm_creator_gets_it_once_encoded_without_broadcasts(slack: str, dm: str) -> None:
    assert for_creator(slack, Platform.SLACK) == dm
    assert "&amp;lt;" not in for_creator(slack, Platform.SLACK)


def test_decode_undoes_exactly_one_level() -> None:
    assert decode("&amp;amp; &lt;&gt;") == "&amp; <>"


def test_bare_mentions_get_slacks_own_label_where_the_name_is_known() -> None:
    names = {"U123": "Lucía <admin>|x", "U777": ""}
    labelled = label_mentions("<@U123> y <@U777> y <@U999>", names.get)
    assert labelled == "<@U123|Lucía adminx> y <@U777> y <@U999>"
    assert for_creator(labelled, Platform.TELEGRAM) == "Lucía adminx y y"
