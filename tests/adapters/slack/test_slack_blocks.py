from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapters.slack import blocks as sb
from bot.adapters.slack import kit, modals
from handlers.common.privacy import DOTS
from handlers.contract.case_view import CaseView

HOSTILE = "<!channel> <@U123> <https://x|y> & <b>"
OPENED = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
# What may legitimately look like Slack markup in a card: dates, our agent, our channel.
ALLOWED_TOKEN = re.compile(r"<!date\^\d+\^[^|<>]*\|[^<>]*>|<@U0AGENT>|<#C0PAGOS>")


def make_case(**changes: Any) -> CaseView:
    case = CaseView(
        escalation_id=42,
        creator_name="Ana",
        platform="telegram",
        locale="es-MX",
        vip=False,
        priority="P2",
        category="withdrawals",
        status="open",
        assignee=None,
        summary="No me llegó el retiro de 250 dólares.",
        tried=("kb:retiros",),
        reason="max_misses",
        opened_at=OPENED,
        waited_seconds=300,
    )
    return dataclasses.replace(case, **changes)


def texts(value: Any) -> Iterator[str]:
    """Every string shown to agents: the ``text`` of text objects, anywhere in the structure."""
    if isinstance(value, dict):
        if value.get("type") in ("mrkdwn", "plain_text"):
            yield value["text"]
        for child in value.values():
            yield from texts(child)
    elif isinstance(value, list):
        for child in value:
            yield from texts(child)


def block(blocks: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(b for b in blocks if b["type"] == kind)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in block(blocks, "actions")["elements"] if e["type"] == "button"]


def selects(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in block(blocks, "actions")["elements"] if e["type"] == "static_select"]


def test_escape_makes_slack_markup_literal() -> None:
    assert kit.escape(HOSTILE) == (
        "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt; &amp; &lt;b&gt;"
    )
    assert kit.escape("sin marcas *negrita* 😀") == "sin marcas *negrita* 😀"


def test_escape_masks_secrets_first() -> None:
    assert kit.escape("mi código es 482913 <3") == f"mi código es {DOTS} &lt;3"


def test_hostile_creator_text_pings_no_one_anywhere_in_the_card() -> None:
    case = make_case(
        creator_name=HOSTILE,
        summary=f"{HOSTILE} mi contraseña es Hola123!",
        tried=(HOSTILE,),
        reason=HOSTILE,
        status="assigned",
        assignee="U0AGENT",
        transferred_to=HOSTILE,
        linked_from=HOSTILE,
        platform=HOSTILE,
        locale=HOSTILE,
    )
    fallback, blocks = sb.case_card(case)
    for text in [fallback, *texts(blocks)]:
        assert not re.search(r"<[!@#]", ALLOWED_TOKEN.sub("", text)), text
        assert "<https://x|y>" not in text
        assert "Hola123!" not in text
    assert "&lt;!channel&gt;" in fallback
    assert any("<@U0AGENT>" in text for text in texts(blocks))


def test_an_assignee_that_is_not_a_user_id_is_shown_as_text() -> None:
    _, blocks = sb.case_card(make_case(status="assigned", assignee="<!here>"))
    status = next(t for t in texts(blocks) if "Asignado" in t)
    assert "&lt;!here&gt;" in status
    assert "<!here>" not in status


def test_summary_is_masked_in_the_card() -> None:
    summary = "tarjeta 4111 1111 1111 1111, me llegó el 482913"
    _, blocks = sb.case_card(make_case(summary=summary))
    shown = "\n".join(texts(blocks))
    assert "•••• •••• •••• 1111" in shown
    assert f"me llegó el {DOTS}" in shown
    assert "482913" not in shown and "4111 1111" not in shown


def test_card_layout_in_spanish() -> None:
    fallback, blocks = sb.case_card(make_case(vip=True, priority="P1"))
    header = block(blocks, "header")["text"]["text"]
    assert header == "🔴 P1 · Caso #42 · withdrawals"
    assert "Caso #42" in fallback and "Ana" in fallback
    fields = [f["text"] for f in block(blocks, "section")["fields"]]
    assert fields[:5] == [
        "*Creador/a:*\nAna",
        "*Plataforma:*\ntelegram",
        "*Idioma:*\nespañol (México)",
        "*VIP:*\n⭐ Sí",
        "*Estado:*\nAbierto, sin asignar",
    ]
    assert fields[5] == "*Tiempo de espera:*\n5 minutos"
    assert fields[6].startswith("*Abierto:*\n<!date^1795618800^")
    assert fields[6].endswith("|25 nov 2026, 15:00:00 UTC>")
    shown = "\n".join(texts(blocks))
    assert "*Resumen:*\nNo me llegó el retiro de 250 dólares." in shown
    assert "🤖 Lo que ya intentó el bot: kb:retiros" in shown
    assert "Motivo: max_misses" in shown
    assert [b["text"]["text"] for b in buttons(blocks)] == [
        "Tomar caso",
        "Devolver al bot",
        "Resolver",
        "Transferir",
        "Guardar en KB",
    ]


def test_card_layout_in_english() -> None:
    _, blocks = sb.case_card(make_case(status="assigned", assignee="U0AGENT"), locale="en")
    assert block(blocks, "header")["text"]["text"] == "🟠 P2 · Case #42 · withdrawals"
    fields = [f["text"] for f in block(blocks, "section")["fields"]]
    assert "*Creator:*\nAna" in fields
    assert "*Language:*\nSpanish (Mexico)" in fields
    assert "*VIP:*\nNo" in fields
    assert "*Status:*\nAssigned · <@U0AGENT>" in fields
    assert "*Waiting for:*\n5 minutes" in fields
    assert [b["text"]["text"] for b in buttons(blocks)] == [
        "Hand back to bot",
        "Resolve",
        "Transfer",
        "Save to KB",
    ]
    assert "🤖 What the bot already tried: kb:retiros" in "\n".join(texts(blocks))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("open", [kit.TAKE, kit.RETURN, kit.RESOLVE, kit.TRANSFER, kit.SAVE_KB]),
        ("assigned", [kit.RETURN, kit.RESOLVE, kit.TRANSFER, kit.SAVE_KB]),
        ("returned", [kit.SAVE_KB]),
        ("resolved", [kit.SAVE_KB]),
        ("transferred", [kit.SAVE_KB]),
        ("something-new", [kit.SAVE_KB]),
    ],
)
def test_buttons_follow_the_status(status: str, expected: list[str]) -> None:
    _, blocks = sb.case_card(make_case(status=status))
    actions = buttons(blocks)
    assert [b["action_id"] for b in actions] == expected
    assert all(b["value"] == "42" for b in actions)
    assert block(blocks, "actions")["block_id"] == kit.ACTIONS_BLOCK


def test_only_resolve_is_primary() -> None:
    _, blocks = sb.case_card(make_case())
    styles = {b["action_id"]: b.get("style") for b in buttons(blocks)}
    assert styles == {
        kit.TAKE: None,
        kit.RETURN: None,
        kit.RESOLVE: "primary",
        kit.TRANSFER: None,
        kit.SAVE_KB: None,
    }


def test_statuses_are_localised() -> None:
    for status, label in [
        ("returned", "Devuelto al bot"),
        ("resolved", "Resuelto"),
        ("transferred", "Transferido"),
    ]:
        _, blocks = sb.case_card(make_case(status=status))
        assert f"*Estado:*\n{label}" in list(texts(blocks))


def test_a_huge_case_stays_within_slacks_limits() -> None:
    huge = "Texto largo & <raro> 😀 " * 5000
    case = make_case(
        creator_name=huge,
        summary=huge,
        tried=tuple([huge] * 3),
        reason=huge,
        transferred_to=huge,
        linked_from=huge,
        category=huge,
        status="assigned",
        assignee=huge,
    )
    assert len(case.summary) > 100_000
    fallback, blocks = sb.case_card(case)
    assert len(fallback) < 1000
    assert len(json.dumps(blocks)) < 30_000
    assert all(len(text) <= 3000 for text in texts(blocks))
    assert len(block(blocks, "header")["text"]["text"]) <= 150
    assert all(len(f["text"]) <= 2000 for f in block(blocks, "section")["fields"])
    summary = next(t for t in texts(blocks) if t.startswith("*Resumen:*"))
    assert summary.endswith("…")
    assert not re.search(r"&[a-z]{0,3}…$", summary)


def test_links_and_transfers_are_noted() -> None:
    case = make_case(
        transferred_to="C0PAGOS", linked_from="https://puente.slack.com/archives/C1/p1?a=1&b=2"
    )
    _, blocks = sb.case_card(case)
    shown = list(texts(blocks))
    assert "↪️ Transferido a <#C0PAGOS>" in shown
    assert (
        "🔗 Viene de <https://puente.slack.com/archives/C1/p1?a=1&amp;b=2"
        "|la conversación anterior>" in shown
    )


def test_the_bot_tried_nothing() -> None:
    _, blocks = sb.case_card(make_case(tried=(), reason=""))
    context = block(blocks, "context")["elements"]
    assert [e["text"] for e in context] == ["🤖 El bot no llegó a ofrecer ninguna respuesta."]


def test_naive_opened_at_is_taken_as_utc() -> None:
    _, aware = sb.case_card(make_case())
    _, naive = sb.case_card(make_case(opened_at=OPENED.replace(tzinfo=None)))
    assert aware == naive


def test_thread_line() -> None:
    line = sb.thread_line("Ana", f"hola {HOSTILE}", ["photo", "document"])
    assert line == (
        "*Ana (creador/a):* hola &lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt; "
        "&amp; &lt;b&gt; 📎 foto, documento"
    )
    assert sb.thread_line("Ana", "", ("voice",), "en") == "*Ana (creator):* 📎 voice message"
    assert sb.thread_line("<!here>", "x", []) == "*&lt;!here&gt; (creador/a):* x"
    assert sb.thread_line("Luis", "listo", [], role="agent") == "*Luis (agente):* listo"
    assert sb.thread_line("Puente", "hola", [], role=None) == "*Puente:* hola"
    assert sb.thread_line("Ana", "", ["<!x>"]) == "*Ana (creador/a):* 📎 &lt;!x&gt;"


def test_thread_line_masks_and_caps() -> None:
    assert (
        sb.thread_line("Ana", "mi código es 482913", [])
        == f"*Ana (creador/a):* mi código es {DOTS}"
    )
    assert len(sb.thread_line("Ana", "a" * 100_000, [])) <= kit.MAX_MESSAGE


def test_transcript() -> None:
    text = sb.transcript([("Ana (creador/a)", f"hola {HOSTILE}"), ("Puente", "¿En qué te ayudo?")])
    assert text == (
        "*Conversación hasta ahora*\n"
        "*Ana (creador/a):* hola &lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt; "
        "&amp; &lt;b&gt;\n"
        "*Puente:* ¿En qué te ayudo?"
    )
    assert sb.transcript([], "en") == "*Conversation so far*\n(no messages yet)"


def test_transcript_keeps_the_newest_lines_within_the_cap() -> None:
    lines = [("Ana", f"mensaje {n} " + "x" * 990) for n in range(100)]
    text = sb.transcript(lines)
    assert len(text) <= kit.MAX_MESSAGE
    assert "mensaje 99 " in text and "mensaje 0 " not in text
    kept = text.count("*Ana:*")
    assert f"_Mensajes anteriores omitidos: {100 - kept}_" in text
    assert text.index("mensaje 98 ") < text.index("mensaje 99 ")
    assert len(sb.transcript([("Ana", "y" * 100_000)])) <= kit.MAX_MESSAGE


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def submission(view: dict[str, Any], chosen: dict[str, str | None]) -> dict[str, Any]:
    """The ``view`` of a view_submission payload, as Slack sends it for these inputs."""
    values: dict[str, Any] = {}
    for block_id, item in inputs(view).items():
        element = item["element"]
        value = chosen.get(element["action_id"])
        if element["type"] == "static_select":
            option = next((o for o in element["options"] if o["value"] == value), None)
            state = {"type": "static_select", "selected_option": option}
        else:
            state = {"type": "plain_text_input", "value": value}
        values[block_id] = {element["action_id"]: state}
    return {**view, "id": "V0123", "team_id": "T0", "state": {"values": values}, "hash": "1.a"}


def test_resolve_modal() -> None:
    view = modals.resolve_modal(42, ["pago retrasado", "ban erróneo", "pago retrasado", " "])
    assert view["type"] == "modal"
    assert view["callback_id"] == kit.RESOLVE_VIEW
    assert view["private_metadata"] == "42"
    assert view["title"]["text"] == "Resolver caso"
    assert view["submit"]["text"] == "Resolver"
    assert view["close"]["text"] == "Cancelar"
    fields = inputs(view)
    assert list(fields) == [kit.ROOT_CAUSE, kit.SUMMARY]
    select = fields[kit.ROOT_CAUSE]["element"]
    assert select["type"] == "static_select"
    assert [(o["text"]["text"], o["value"]) for o in select["options"]] == [
        ("pago retrasado", "pago retrasado"),
        ("ban erróneo", "ban erróneo"),
    ]
    summary = fields[kit.SUMMARY]["element"]
    assert summary["type"] == "plain_text_input"
    assert summary["max_length"] == 200 and not summary["multiline"]
    state = submission(view, {kit.ROOT_CAUSE: "ban erróneo", kit.SUMMARY: "Se levantó el ban"})
    assert modals.modal_values(state) == {
        kit.ROOT_CAUSE: "ban erróneo",
        kit.SUMMARY: "Se levantó el ban",
    }


def test_resolve_modal_without_configured_causes_asks_for_text() -> None:
    view = modals.resolve_modal(7, [], "en")
    element = inputs(view)[kit.ROOT_CAUSE]["element"]
    assert element["type"] == "plain_text_input"
    assert view["title"]["text"] == "Resolve case"
    assert view["submit"]["text"] == "Resolve"
    state = submission(view, {kit.ROOT_CAUSE: "payout delay", kit.SUMMARY: "Resent"})
    assert modals.modal_values(state) == {kit.ROOT_CAUSE: "payout delay", kit.SUMMARY: "Resent"}


def test_transfer_modal() -> None:
    view = modals.transfer_modal(42, {"Pagos": "C0PAGOS", "Moderación": "C0MOD"})
    assert (view["callback_id"], view["private_metadata"]) == (kit.TRANSFER_VIEW, "42")
    assert view["title"]["text"] == "Transferir caso"
    fields = inputs(view)
    assert [(o["text"]["text"], o["value"]) for o in fields[kit.TEAM]["element"]["options"]] == [
        ("Pagos", "C0PAGOS"),
        ("Moderación", "C0MOD"),
    ]
    assert fields[kit.NOTE]["optional"] is True
    assert not fields[kit.TEAM]["optional"]
    assert modals.modal_values(submission(view, {kit.TEAM: "C0MOD", kit.NOTE: None})) == {
        kit.TEAM: "C0MOD",
        kit.NOTE: "",
    }


def test_transfer_modal_without_teams_cannot_be_submitted() -> None:
    view = modals.transfer_modal(42, {})
    assert "submit" not in view
    assert not inputs(view)
    assert "No hay equipos configurados" in "\n".join(texts(view))


def test_save_kb_modal_prefills_masked_and_capped_drafts() -> None:
    question = "¿Por qué no llegó mi retiro? mi código es 482913 " + "q" * 5000
    view = modals.save_kb_modal(42, question, "Revisa tu cuenta de PayPal.", "es")
    assert (view["callback_id"], view["private_metadata"]) == (kit.SAVE_KB_VIEW, "42")
    assert view["title"]["text"] == "Guardar en la KB"
    assert view["submit"]["text"] == "Guardar"
    fields = inputs(view)
    assert list(fields) == [kit.QUESTION, kit.ANSWER, kit.CATEGORY]
    draft = fields[kit.QUESTION]["element"]
    assert draft["multiline"] and len(draft["initial_value"]) <= 3000
    assert draft["initial_value"].startswith(f"¿Por qué no llegó mi retiro? mi código es {DOTS}")
    assert fields[kit.ANSWER]["element"]["initial_value"] == "Revisa tu cuenta de PayPal."
    assert fields[kit.CATEGORY]["label"]["text"] == "Categoría"
    chosen = {kit.QUESTION: "¿Retiro?", kit.ANSWER: "Espera 3 días.", kit.CATEGORY: "retiros"}
    assert modals.modal_values(submission(view, chosen)) == chosen


def test_modal_values_with_an_unselected_select_and_no_state() -> None:
    view = {
        "state": {
            "values": {
                "root_cause": {"root_cause": {"type": "static_select", "selected_option": None}},
                "summary": {"summary": {"type": "plain_text_input", "value": "ok"}},
            }
        }
    }
    assert modals.modal_values(view) == {"root_cause": "", "summary": "ok"}
    assert modals.modal_values({}) == {}


def test_modal_titles_and_labels_fit_slack_in_every_locale() -> None:
    for locale in ("es", "en"):
        views = [
            modals.resolve_modal(123456, ["x" * 300], locale),
            modals.transfer_modal(123456, {"t" * 300: "C" + "1" * 300}, locale),
            modals.save_kb_modal(123456, "q", "a", locale),
        ]
        for view in views:
            assert len(view["title"]["text"]) <= 24
            assert len(view["close"]["text"]) <= 24
            for item in inputs(view).values():
                for option in item["element"].get("options", []):
                    assert len(option["text"]["text"]) <= 75
                    assert len(option["value"]) <= 150


def test_open_cases_offer_a_triage_correction_closed_ones_do_not() -> None:
    _, open_blocks = sb.case_card(make_case(status="open"))
    (select,) = selects(open_blocks)
    assert select["action_id"] == kit.RECLASSIFY
    values = [o["value"] for o in select["options"]]
    assert len(values) == 12 and all(v.startswith("42:") for v in values)
    _, closed_blocks = sb.case_card(make_case(status="resolved"))
    assert selects(closed_blocks) == []
