"""The learned KB decision: its shipped artefact, its thresholds, and its fallbacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handlers.kb.matching.decision import (
    CalibratedLogistic,
    DecisionModel,
    Judgement,
    Prototypes,
    Signals,
    judge,
    shipped_model,
    verbatim,
)
from handlers.kb.matching.matcher import Action, MatchPolicy, learned_result


def test_the_shipped_model_loads_and_gives_probabilities() -> None:
    model = shipped_model()
    assert model is not None
    assert 0 < model.answer_threshold < 1 and 0 <= model.offer_threshold < 1
    signals = Signals({"a": 0.9, "b": 0.2}, {"a": 0.8, "b": 0.3}, 5, np.ones(512) / 512**0.5)
    judgement = judge(model, signals)
    assert judgement.ranked[0][0] == "a"
    assert all(0.0 <= p <= 1.0 for _, p in judgement.ranked)
    assert 0.0 <= judgement.in_scope <= 1.0


def test_a_saved_model_reads_back_the_same(tmp_path: Path) -> None:
    model = shipped_model()
    assert model is not None
    path = tmp_path / "decision.json"
    model.save(path)
    again = DecisionModel.load(path)
    rows = np.random.default_rng(1).normal(size=(4, len(model.article.mean)))
    assert np.allclose(again.article.probability(rows), model.article.probability(rows))
    assert again.prototypes.ids == model.prototypes.ids


def _model(answer_at: float, offer_at: float) -> DecisionModel:
    flat = CalibratedLogistic(
        np.zeros(1), np.ones(1), np.zeros((1, 1)), np.zeros(1), np.ones(1), np.zeros(1)
    )
    return DecisionModel(flat, flat, Prototypes((), np.zeros((0, 512))), answer_at, offer_at)


def test_thresholds_are_probabilities_and_settings_override_them() -> None:
    judgement = Judgement([("a", 0.9), ("b", 0.05), ("c", 0.03), ("d", 0.01)], in_scope=0.8)
    assert judgement.confidence == 0.9 * 0.8
    answered = learned_result(judgement, _model(0.7, 0.5), MatchPolicy())
    assert answered.action is Action.ANSWER and answered.article_id == "a"
    assert round(answered.score, 2) == 72.0
    strict = learned_result(judgement, _model(0.7, 0.5), MatchPolicy(answer_threshold=80))
    assert strict.action is Action.CLARIFY and strict.suggestions == ("a", "b", "c")
    declined = learned_result(
        judgement, _model(0.7, 0.5), MatchPolicy(answer_threshold=80, clarify_threshold=90)
    )
    assert declined.action is Action.ESCALATE and declined.suggestions == ()


def test_a_kb_question_word_for_word_is_answered_even_unseen() -> None:
    assert verbatim(Signals({"new": 1.0, "other": 0.4}, {}, 4)) == "new"
    assert verbatim(Signals({"new": 1.0, "twin": 0.95}, {}, 4)) is None
    assert verbatim(Signals({"new": 0.8}, {}, 4)) is None
