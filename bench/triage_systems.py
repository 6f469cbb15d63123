"""The systems ``bench.triage`` compares and how one held-out set is scored: the keyword
baseline, today's triager (rules and nearest examples) and the learned triager."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol

from handlers.common.text import fold
from handlers.kb.files import read_kb_file
from handlers.kb.matching.semantic import SentenceEncoder
from handlers.kb.source import SHIPPED_KB
from handlers.triage.classifier import (
    PRIORITIES,
    Benign,
    Triage,
    Triager,
    load_cues,
    load_examples,
    load_rules,
)
from handlers.triage.learned import LearnedTriager
from handlers.triage.loading import DATA
from handlers.triage.model import TriageModel
from handlers.triage.reasons import Reason

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "puente-bench"
LEVELS: tuple[str, ...] = ("P1", "P2", "P3", "P4")

P1_RECALL_TARGET, FALSE_P1_TARGET, ACCURACY_TARGET = 98.0, 2.0, 90.0
TARGETS = (
    f"targets: P1 recall ≥ {P1_RECALL_TARGET:g} %, false P1 (P2-P4 messages raised to P1) "
    f"≤ {FALSE_P1_TARGET:g} %, priority accuracy ≥ {ACCURACY_TARGET:g} %"
)
# Warm-up texts are not dev messages, so no dev message is timed after its own warm-up call.
WARMUP_TEXTS: tuple[str, ...] = (
    "hola, una pregunta sobre mi cuenta",
    "¿dónde veo cuánto gané este mes?",
    "my stream froze halfway, what happened",
    "no entiendo nada de esto jaja",
    "zzzz qwerty",
)
MISSES_SHOWN = 15
MISS_CHARS = 80

# The keyword baseline: obvious words per category, written a priori (never tuned on dev).
# Matched as whole words or phrases on folded text (lowercase, no accents, no punctuation);
# the first category, in this order, with a keyword in the message wins; else none (P4).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "self_harm": (
        "suicidio",
        "suicidarme",
        "morir",
        "matarme",
        "quitarme la vida",
        "cortarme",
        "suicide",
        "kill myself",
        "end my life",
    ),
    "child_safety": ("menor", "menores", "nino", "nina", "minor", "underage", "child", "pedofilo"),
    "violent_threat": ("matar", "te voy a matar", "amenaza", "kill", "shoot", "bomba", "bomb"),
    "sextortion": ("fotos", "desnuda", "desnudo", "intimas", "nudes", "extorsion", "sextorsion"),
    "account_compromise": (
        "hackearon",
        "hackeo",
        "hackeada",
        "hackeado",
        "hacked",
        "contrasena",
        "password",
    ),
    "payment_fraud": ("estafa", "estafaron", "fraude", "scam", "fraud"),
    "harassment": ("acoso", "acosa", "acosando", "insultos", "harassment", "harassing", "bully"),
    "legal": ("abogado", "denuncia", "demanda", "lawyer", "lawsuit", "policia", "police"),
    "vip_incident": (),  # no obvious word: the baseline never says vip_incident
    "human_request": ("agente", "humano", "persona real", "agent", "human", "real person"),
    "complaint": ("queja", "reclamo", "pesimo", "terrible", "complaint", "awful"),
}


# -- data ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    locale: str
    priority: str
    category: str
    vip: bool = False
    author: str = ""


def load_messages(path: Path) -> list[Message]:
    messages: list[Message] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                messages.append(
                    Message(
                        record["text"],
                        record.get("locale", ""),
                        record["priority"],
                        record["category"],
                        bool(record.get("vip", False)),
                        str(record.get("author", "")),
                    )
                )
    return messages


# -- systems -------------------------------------------------------------------------------


class Classifier(Protocol):
    def classify(self, text: str, *, vip: bool = False) -> Triage: ...


class KeywordBaseline:
    """First category (P1 → P2 → P3) with one of its keywords in the message; else none."""

    def __init__(self, keywords: dict[str, tuple[str, ...]] = KEYWORDS) -> None:
        self.patterns = [
            (category, re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b"))
            for category, words in sorted(keywords.items(), key=lambda kv: PRIORITIES[kv[0]])
            if words
        ]

    def classify(self, text: str, *, vip: bool = False) -> Triage:
        folded = fold(text)
        for category, pattern in self.patterns:
            match = pattern.search(folded)
            if match:
                return Triage(
                    PRIORITIES[category], category, (Reason(f"keyword '{match.group(0)}'"),)
                )
        return Triage("P4", "none", ())


@dataclass(frozen=True, slots=True)
class System:
    key: str
    name: str
    build: Callable[[], Classifier]


def require_data() -> None:
    """Puente's triager needs its shipped rules and examples; say which one is missing."""
    missing = [p.name for p in (DATA / "rules.toml", DATA / "examples.jsonl") if not p.exists()]
    if missing:
        raise SystemExit(f"missing triage data in {DATA}: {', '.join(missing)}")


def kb_questions(path: Path = SHIPPED_KB) -> list[tuple[str, str]]:
    """(article id, question variant) for every variant of the shipped KB."""
    return [(row.id, question) for row in read_kb_file(path) for question in row.questions]


def kb_benign(encoder: SentenceEncoder, path: Path = SHIPPED_KB) -> Benign:
    """The shipped KB's question variants as known-benign neighbours."""
    pairs = kb_questions(path)
    texts = tuple(q for _, q in pairs)
    return Benign(encoder.encode_many(list(texts)), tuple(a for a, _ in pairs), texts)


def learned_triager(model: TriageModel, benign: Benign | None) -> Triager:
    """The learned triager with ``model``, the shipped rules and examples, and the shipped KB's
    questions as benign neighbours (as ``puente run``/``serve`` wire the live KB)."""
    require_data()
    rules, idioms = load_rules()
    return LearnedTriager(
        rules,
        idioms,
        load_examples(),
        encoder(),
        model=model,
        cues=load_cues(),
        benign=(lambda: benign) if benign is not None else None,
    )


def today_triager(benign: Benign | None) -> Triager:
    """Today's triager: the shipped rules and nearest examples, with the KB's questions."""
    require_data()
    rules, idioms = load_rules()
    return Triager(
        rules,
        idioms,
        load_examples(),
        encoder(),
        cues=load_cues(),
        benign=(lambda: benign) if benign is not None else None,
    )


@cache
def encoder() -> SentenceEncoder:
    return SentenceEncoder(cache_dir=CACHE_DIR / "puente")


# -- measuring -----------------------------------------------------------------------------


@dataclass(slots=True)
class LevelScore:
    precision: float | None
    recall: float | None
    support: int
    predicted: int


@dataclass(slots=True)
class SystemResult:
    key: str
    name: str
    levels: dict[str, LevelScore] = field(default_factory=dict)
    priority_accuracy: float = 0.0
    p1_recall: float | None = None
    false_p1: float | None = None
    category_accuracy: float = 0.0
    messages_per_s: float = 0.0
    build_s: float = 0.0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)


def _percent(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _share(part: int, whole: int) -> float:
    return _percent(part, whole) or 0.0


def run(classifier: Classifier, messages: Sequence[Message]) -> tuple[list[Triage], float]:
    """Every message classified once (after a warm-up), and the messages per second."""
    for text in WARMUP_TEXTS:
        classifier.classify(text)
    verdicts: list[Triage] = []
    started = time.perf_counter()
    for message in messages:
        verdicts.append(classifier.classify(message.text, vip=message.vip))
    elapsed = time.perf_counter() - started
    return verdicts, len(messages) / max(elapsed, 1e-9)


def confusion(messages: Sequence[Message], verdicts: Sequence[Triage]) -> dict[str, dict[str, int]]:
    """Counts by expected priority (rows) and predicted priority (columns)."""
    matrix = {expected: dict.fromkeys(LEVELS, 0) for expected in LEVELS}
    for message, verdict in zip(messages, verdicts, strict=True):
        matrix[message.priority][verdict.priority] += 1
    return matrix


def level_scores(matrix: dict[str, dict[str, int]]) -> dict[str, LevelScore]:
    scores: dict[str, LevelScore] = {}
    for level in LEVELS:
        right = matrix[level][level]
        support = sum(matrix[level].values())
        predicted = sum(matrix[expected][level] for expected in LEVELS)
        scores[level] = LevelScore(
            _percent(right, predicted), _percent(right, support), support, predicted
        )
    return scores


def score(system: System, messages: Sequence[Message], verdicts: Sequence[Triage]) -> SystemResult:
    matrix = confusion(messages, verdicts)
    levels = level_scores(matrix)
    pairs = list(zip(messages, verdicts, strict=True))
    low = [verdict for message, verdict in pairs if message.priority != "P1"]
    return SystemResult(
        key=system.key,
        name=system.name,
        levels=levels,
        priority_accuracy=_share(sum(m.priority == v.priority for m, v in pairs), len(pairs)),
        p1_recall=levels["P1"].recall,
        false_p1=_percent(sum(v.priority == "P1" for v in low), len(low)),
        category_accuracy=_share(sum(m.category == v.category for m, v in pairs), len(pairs)),
        confusion=matrix,
    )


# -- output --------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1, target: bool | None = None) -> str:
    if value is None:
        return "n/a"
    mark = "" if target is None else (" ✓" if target else " ✗")
    return f"{value:.{digits}f}{mark}"


def _check(value: float | None, limit: float, *, at_least: bool) -> bool | None:
    if value is None:
        return None
    return value >= limit if at_least else value <= limit


def level_table(result: SystemResult) -> list[str]:
    lines = [
        f"**{result.name}**",
        "",
        "| priority | precision % | recall % | expected | predicted |",
        "|---|---:|---:|---:|---:|",
    ]
    for level, s in result.levels.items():
        lines.append(
            f"| {level} | {_fmt(s.precision)} | {_fmt(s.recall)} | {s.support} | {s.predicted} |"
        )
    return lines


def summary_table(results: Sequence[SystemResult]) -> list[str]:
    lines = [
        "| system | priority accuracy % | P1 recall % | false P1 % | category accuracy % "
        "| messages/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        accuracy = _check(r.priority_accuracy, ACCURACY_TARGET, at_least=True)
        recall = _check(r.p1_recall, P1_RECALL_TARGET, at_least=True)
        false_p1 = _check(r.false_p1, FALSE_P1_TARGET, at_least=False)
        lines.append(
            f"| {r.name} | {_fmt(r.priority_accuracy, target=accuracy)} "
            f"| {_fmt(r.p1_recall, target=recall)} | {_fmt(r.false_p1, target=false_p1)} "
            f"| {_fmt(r.category_accuracy)} | {r.messages_per_s:,.0f} |"
        )
    return lines


def confusion_table(result: SystemResult) -> list[str]:
    lines = [
        f"Priority confusion, {result.name} (rows: expected, columns: predicted)",
        "",
        "| expected \\ predicted | " + " | ".join(LEVELS) + " |",
        "|---|" + "---:|" * len(LEVELS),
    ]
    for expected, row in result.confusion.items():
        lines.append(f"| {expected} | " + " | ".join(str(row[p]) for p in LEVELS) + " |")
    return lines
