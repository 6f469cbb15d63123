from __future__ import annotations

import pytest

from handlers.common.privacy import DOTS, luhn_valid, mask


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111 1111 1111 1111", "•••• •••• •••• 1111"),
        ("mi tarjeta es 4539 1488 0343 6467 gracias", "mi tarjeta es •••• •••• •••• 6467 gracias"),
        ("card: 4539-1488-0343-6467.", "card: •••• •••• •••• 6467."),
        ("4539148803436467", "•••• •••• •••• 6467"),
        ("amex 3782 822463 10005 ok", "amex •••• •••• •••• 0005 ok"),
        ("la 4111 1111 1111 1111 y 20 más", "la •••• •••• •••• 1111 y 20 más"),
        (
            "two: 4111111111111111, 5500005555555559",
            "two: •••• •••• •••• 1111, •••• •••• •••• 5559",
        ),
    ],
)
def test_luhn_valid_cards_keep_only_the_last_four(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",
        "mi tarjeta 1234 5678 9012 3456 no sirve",
        "transacción 4111111111111111111111 rechazada",
        "id ABC4111111111111111",
        "llámame al +52 1 55 1234 5678",
        "mi número es 55 1234 5678",
    ],
)
def test_numbers_that_are_not_cards_stay(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi código es 482913", f"mi código es {DOTS}"),
        ("MI CÓDIGO ES 4829", f"MI CÓDIGO ES {DOTS}"),
        ("el codigo: 91827364", f"el codigo: {DOTS}"),
        ("el code: 1234", f"el code: {DOTS}"),
        ("Your verification code is 554433.", f"Your verification code is {DOTS}."),
        ("mi código de verificación es 482913", f"mi código de verificación es {DOTS}"),
        ("OTP 123-456", f"OTP {DOTS}"),
        ("el pin es 0420 no lo compartas", f"el pin es {DOTS} no lo compartas"),
        ("token=778899", f"token={DOTS}"),
        ("me llegó el 482913", f"me llegó el {DOTS}"),
        ("me llego el codigo 9911 ayer", f"me llego el codigo {DOTS} ayer"),
        ("sms: 5521.", f"sms: {DOTS}."),
        ("el SMS dice 700312", f"el SMS dice {DOTS}"),
        ("código 4821 y retiré 5000 pesos", f"código {DOTS} y retiré 5000 pesos"),
    ],
)
def test_one_time_codes_and_pins_are_hidden(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi contraseña es Hola123!", f"mi contraseña es {DOTS}"),
        ("password=abc", f"password={DOTS}"),
        ("my password is hunter2 lol", f"my password is {DOTS} lol"),
        ("Contrasena: s3cr3t y usuario ana", f"Contrasena: {DOTS} y usuario ana"),
        ("la clave = 4321", f"la clave = {DOTS}"),
        ("pwd: p@ss w", f"pwd: {DOTS} w"),
        ("pass: x", f"pass: {DOTS}"),
    ],
)
def test_passwords_are_hidden(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "tengo 1000 seguidores",
        "retiré 250 dólares y no llegaron",
        "I have 12500 followers",
        "no me llegó el pago de 1500 dólares",
        "me llegaron 3000 diamantes",
        "el 15/03/2024 hice un retiro",
        "el live del 2024-11-25 a las 21:30",
        "mi código postal es 28001",
        "zip code 90210",
        "Mi PIN no funciona, tengo 1000 seguidores",
        "el código de la agencia no funciona",
        "olvidé mi contraseña",
        "¿cómo cambio mi password?",
        "pasé 5000 monedas",
        "llámame al 5512345678",
        "",
        "😀🔥 sin números 🎁",
    ],
)
def test_ordinary_text_is_left_exactly_as_written(text: str) -> None:
    assert mask(text) == text


def test_everything_else_in_a_message_survives() -> None:
    text = "Hola 👋 retiré 250 dólares el 15/03, mi código es 482913 🙏\nsegundo renglón"
    assert (
        mask(text)
        == f"Hola 👋 retiré 250 dólares el 15/03, mi código es {DOTS} 🙏\nsegundo renglón"
    )


def test_long_text_masks_every_occurrence() -> None:
    chunk = "tengo 1000 seguidores, mi código es 482913 y la tarjeta 4111 1111 1111 1111 🎁. "
    masked = mask(chunk * 2000)
    assert masked.count(DOTS) == 2000
    assert masked.count("•••• •••• •••• 1111") == 2000
    assert masked.count("1000 seguidores") == 2000
    assert "482913" not in masked and "4111 1111" not in masked


def test_mask_is_idempotent() -> None:
    text = "code 4111 1111 1111 1111, mi código es 482913, password: x"
    assert mask(mask(text)) == mask(text)


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")
