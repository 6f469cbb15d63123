"""The lexical index's prefilter keeps exactly the best-scoring variants."""

from __future__ import annotations

import numpy as np
import pytest

from handlers.kb.matching.lexical import _best


def _reference(scores: np.ndarray, size: int) -> set[float]:
    hits = np.flatnonzero(scores)
    return set(np.sort(scores[hits])[-size:].tolist())


@pytest.mark.parametrize("density", [0.0005, 0.01, 0.2, 0.9])
@pytest.mark.parametrize("size", [1, 40, 320])
def test_best_keeps_the_highest_scores_whatever_the_spread(density: float, size: int) -> None:
    rng = np.random.default_rng(int(density * 1e4) + size)
    scores = np.zeros(64_000, dtype=np.float32)
    touched = rng.choice(len(scores), max(1, int(len(scores) * density)), replace=False)
    levels = np.array([0.4, 1.1, 2.5, 3.0, 4.2], dtype=np.float32)  # few distinct sums: ties
    scores[touched] = rng.choice(levels, len(touched)) + rng.random(len(touched)) * 1e-3
    kept = _best(scores, size)
    assert len(kept) == min(size, len(touched))
    assert set(scores[kept].tolist()) == _reference(scores, size)
    assert (scores[kept] > 0).all()


def test_best_never_returns_untouched_variants() -> None:
    scores = np.zeros(10_000, dtype=np.float32)
    scores[[5, 70]] = (1.0, 2.0)
    assert sorted(_best(scores, 40).tolist()) == [5, 70]
