"""One sentence embedding per creator message, shared by the matcher, its decision and triage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.app import build_puente
from bot.config import Settings
from handlers.api import Puente
from handlers.kb.matching.semantic import SentenceEncoder
from handlers.kb.source import SHIPPED_KB
from tests.conftest import Creator

QUESTIONS = (
    "cómo paso mis diamantes a mi cuenta del banco?",
    "me cortaron el live a la mitad por una infracción que no cometí",
    "desde ayer no me sale el botón para transmitir en vivo",
    "how do I withdraw my earnings to paypal?",
)


class CountingForwardPasses:
    """Stands in for the encoder's token-cached model and counts its forward passes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def encode(self, text: str) -> np.ndarray:
        self.texts.append(text)
        return self.inner.encode(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class VectorReaders:
    """Records every vector ``message_vector`` hands out."""

    def __init__(self, read: Callable[[str], np.ndarray]) -> None:
        self.read = read
        self.handed: list[np.ndarray] = []

    def __call__(self, text: str) -> np.ndarray:
        vector = self.read(text)
        self.handed.append(vector)
        return vector


@pytest.fixture(scope="module")
def puente(tmp_path_factory: pytest.TempPathFactory) -> Puente:
    root: Path = tmp_path_factory.mktemp("shared-embedding")
    settings = Settings.load(
        env_file=None,
        operations={"database_url": f"sqlite:///{root / 'puente.db'}"},
        matching={"kb_path": SHIPPED_KB, "semantic": True, "cache_dir": root / "cache"},
    )
    return build_puente(settings)


def encoder_of(puente: Puente) -> SentenceEncoder:
    semantic = puente.kb.matcher().semantic
    assert semantic is not None, "the shipped default matches with the encoder"
    assert puente.triager is not None and puente.triager.encoder is semantic.encoder
    return semantic.encoder


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_message_is_embedded_once_and_every_reader_gets_that_vector(
    puente: Puente, text: str
) -> None:
    encoder = encoder_of(puente)
    counting = CountingForwardPasses(encoder.tokens)
    readers = VectorReaders(encoder.message_vector)
    encoder.tokens, encoder.message_vector = counting, readers  # type: ignore[method-assign]
    try:
        result = Creator(puente, chat_id=f"chat-{QUESTIONS.index(text)}").says(text)
    finally:
        encoder.tokens = counting.inner
        del encoder.message_vector  # back to the class's method
    assert result.replies
    assert counting.texts == [text]
    assert len(readers.handed) >= 2  # the matcher (cosines, decision) and triage
    assert all(vector is readers.handed[0] for vector in readers.handed)
