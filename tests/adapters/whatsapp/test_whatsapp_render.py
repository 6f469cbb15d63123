"""WhatsApp bodies and webhook reading, without a network: limits the Cloud API enforces."""

from __future__ import annotations

import json

import pytest

from bot.adapters.whatsapp.config import WhatsAppConfig
from bot.adapters.whatsapp.graph import GraphError
from bot.adapters.whatsapp.render import bodies
from bot.adapters.whatsapp.webhook import EventKind, events, to_incoming, valid_signature
from bot.config import Settings
from bot.safe_errors import configured_secrets
from handlers.contract.messages import Suggestion
from tests.fakes.whatsapp_api import (
    APP_SECRET,
    envelope,
    message,
    signature,
    status,
    text_message,
)


def test_long_text_is_split_at_4096_characters() -> None:
    text = " ".join(["Una frase de soporte bastante larga."] * 300)
    sent = bodies(text, (), "Ver opciones")
    assert len(sent) > 1 and all(kind == "text" for kind, _ in sent)
    assert all(len(body["body"]) <= 4096 for _, body in sent)
    assert " ".join(body["body"] for _, body in sent) == text


def test_up_to_three_short_suggestions_are_reply_buttons() -> None:
    choices = (Suggestion("Sí", "/si"), Suggestion("No", "/no"))
    ((kind, body),) = bodies("¿Te ayudó?", choices, "Ver opciones")
    assert kind == "interactive" and body["type"] == "button"
    assert [b["reply"]["id"] for b in body["action"]["buttons"]] == ["/si", "/no"]


def test_more_or_longer_suggestions_become_a_list_with_the_rest_in_the_description() -> None:
    long_label = "Cómo retirar mis ganancias a una cuenta bancaria"
    choices = tuple(Suggestion(f"{long_label} {n}", f"/a {n}") for n in range(12))
    ((kind, body),) = bodies("Elige un tema", choices, "Ver opciones")
    rows = body["action"]["sections"][0]["rows"]
    assert kind == "interactive" and body["type"] == "list" and len(rows) == 10
    assert all(len(r["title"]) <= 24 and len(r["description"]) <= 72 for r in rows)
    assert rows[0]["title"] + rows[0]["description"] == f"{long_label} 0"
    assert body["action"]["button"] == "Ver opciones"


def test_a_long_text_with_suggestions_keeps_the_interactive_body_under_1024() -> None:
    text = " ".join(["Otra frase de ayuda para el creador."] * 60)
    sent = bodies(text, (Suggestion("Sí", "/si"),), "Ver opciones")
    assert sent[-1][0] == "interactive" and len(sent[-1][1]["body"]["text"]) <= 1024
    joined = " ".join(b["body"] if k == "text" else b["body"]["text"] for k, b in sent)
    assert joined == text


def test_the_signature_is_the_bodys_hmac_with_the_app_secret() -> None:
    body = json.dumps(envelope(messages=[text_message("52155", "hola")])).encode()
    assert valid_signature(APP_SECRET, body, signature(body))
    assert not valid_signature(APP_SECRET, body + b" ", signature(body))
    assert not valid_signature(APP_SECRET, body, None)
    assert not valid_signature(APP_SECRET, body, signature(body).removeprefix("sha256="))


def test_every_message_and_status_of_a_body_is_its_own_event() -> None:
    body = envelope(
        messages=[
            text_message("52155", "hola", "wamid.A"),
            text_message("52156", "hey", "wamid.B"),
        ],
        statuses=[status("wamid.OUT", "52155", "delivered")],
    )
    found = events(json.dumps(body).encode())
    assert [(e.kind, e.key) for e in found] == [
        (EventKind.MESSAGE, "wamid.A"),
        (EventKind.MESSAGE, "wamid.B"),
        (EventKind.STATUS, "status:wamid.OUT:delivered"),
    ]
    assert found[0].payload["_name"] == "Creadora" and found[2].chat == "52155"


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"entry": 3}', b"no json"])
def test_bodies_that_are_not_webhooks_are_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        events(body)


def test_voice_notes_documents_contacts_and_unknown_kinds() -> None:
    voice = to_incoming(message("52155", "audio", {"id": "M1", "voice": True}))
    assert voice is not None and voice.attachments[0].kind == "voice"
    document = to_incoming(
        message("52155", "document", {"id": "M2", "filename": "factura.pdf", "caption": "mira"})
    )
    assert document is not None and document.text == "mira"
    assert document.attachments[0].file_name == "factura.pdf"
    card = {"name": {"formatted_name": "Ana Ruiz"}, "phones": [{"phone": "+52 55 1234"}]}
    contacts = to_incoming({**message("52155", "text", {}), "type": "contacts", "contacts": [card]})
    assert contacts is not None and contacts.text == "👤 Ana Ruiz +52 55 1234"
    assert to_incoming(message("52155", "reaction", {"emoji": "👍"})) is None
    assert to_incoming(message("52155", "unsupported", {})) is None


def test_graph_errors_retry_on_rate_limits_and_server_errors_only() -> None:
    assert GraphError(400, 130429, None).retryable
    assert GraphError(429, None, 2.0).retryable
    assert GraphError(502, None, None).retryable
    assert not GraphError(400, 131026, None).retryable
    assert GraphError(400, 131047, None).window_closed


def test_the_version_segment_and_template_language() -> None:
    config = WhatsAppConfig("t", "1", "s", api_version="21.0", reply_template="aviso:en_US")
    assert config.version == "v21.0" and config.template == ("aviso", "en_US")
    assert WhatsAppConfig("t", "1", "s", reply_template="aviso").template == ("aviso", "es")


def test_whatsapp_secrets_are_redacted_from_logs() -> None:
    group = {
        "access_token": "EAAGsecretAccessToken123",
        "app_secret": "app-secret-0123456789",
        "verify_token": "verify-token-0123",
    }
    settings = Settings.load(None, whatsapp=group)
    found = configured_secrets(settings)
    assert {"EAAGsecretAccessToken123", "app-secret-0123456789", "verify-token-0123"} <= set(found)
