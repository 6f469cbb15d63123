"""The shipped triage model reads a message as scikit-learn's sparse features would."""

from __future__ import annotations

import numpy as np
import pytest

from handlers.triage.model import HASH_FEATURES, GramColumns, features, load_model
from handlers.triage.reading import prepare

TEXTS = (
    "me hackearon la cuenta y cambiaron el correo",
    "hola!! q tal",
    "my payout is stuck since monday",
    "ñandú 🙏 ¿¿??",
)


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    loaded = load_model()
    assert loaded is not None
    return loaded


def test_readings_equal_the_sparse_features_times_the_weights(model) -> None:  # type: ignore[no-untyped-def]
    prepared = [prepare(text) for text in TEXTS]
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(TEXTS), model.weights.shape[1] - HASH_FEATURES))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    logits = np.asarray(features(prepared, vectors) @ model.weights.T) + model.bias
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    readings = model.read_many(prepared, vectors)
    got = np.array([[r.probabilities[c] for c in model.classes] for r in readings])
    assert np.allclose(got, expected, atol=1e-5)


def test_gram_columns_start_over_when_full() -> None:
    columns = GramColumns(capacity=3)
    first = columns.of(["ab", "bc", "ab"])
    assert first[0] == first[2] and len(set(first)) == 2
    again = columns.of(["cd", "de"])  # 4 known would exceed 3: forgets and asks again
    assert columns.of(["ab"]) == [first[0]]
    assert len(again) == 2 and all(0 <= c < HASH_FEATURES for c in first + again)


def test_gram_columns_are_safe_to_share_between_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    columns = GramColumns(capacity=50)  # small: threads keep clearing it under each other
    texts = [[f"{a}{b}" for b in "abcdefghij"] for a in "klmnopqrstuvwxyz"]
    reference = {t[0]: GramColumns().of(t) for t in texts}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(columns.of, texts * 40))
    pairs = zip(results, texts * 40, strict=True)
    assert all(result == reference[text[0]] for result, text in pairs)
