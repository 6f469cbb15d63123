"""The live KB: the KB file merged with imported articles, reloaded when either changes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.kb.articles import KbRow
from handlers.kb.files import COLUMNS, KbFormatError, write_kb_file
from handlers.kb.matching.matcher import Action
from handlers.kb.source import KbSource
from handlers.storage import store

GIFTS = KbRow(
    "gift-not-received",
    "es",
    "gifts",
    ("no me llegan los regalos", "un espectador me mandó un regalo y no me llegó"),
    "Espera unos minutos y revisa tu saldo.",
)
PAYOUT = KbRow(
    "withdraw-rewards",
    "es",
    "payouts",
    ("¿Cómo retiro mis recompensas?", "quiero sacar mi dinero"),
    "Ve a Perfil > Saldo > Retirar.",
)
PASSWORD = KbRow(
    "password-reset",
    "es",
    "account",
    ("olvidé mi contraseña", "¿cómo cambio mi contraseña?"),
    "Toca «¿Olvidaste tu contraseña?».",
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, *rows: KbRow) -> None:
    """Rewrite the KB file and make sure its mtime moves, however coarse the filesystem."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    write_kb_file(path, rows)
    bump(path, before)


def bump(path: Path, before: int) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, max(stat.st_mtime_ns, before) + 1_000_000_000))


@pytest.fixture
def kb_file(tmp_path: Path) -> Path:
    path = tmp_path / "kb.csv"
    write(path, GIFTS, PAYOUT)
    return path


def test_loads_the_file(kb_file: Path) -> None:
    source = KbSource(path=kb_file, check_every=0)
    assert set(source.kb.articles) == {"gift-not-received", "withdraw-rewards"}
    assert source.matcher().match("xq no me yegan los regalos").article_id == "gift-not-received"


def test_unchanged_file_keeps_the_same_matcher(kb_file: Path) -> None:
    source = KbSource(path=kb_file, check_every=0)
    assert source.matcher() is source.matcher()


def test_file_edit_is_picked_up_without_a_new_source(kb_file: Path) -> None:
    source = KbSource(path=kb_file, check_every=0)
    assert source.matcher().match("olvide mi contraseña").action is not Action.ANSWER
    write(kb_file, GIFTS, PAYOUT, PASSWORD)
    result = source.matcher().match("olvide mi contraseña")
    assert (result.action, result.article_id) == (Action.ANSWER, "password-reset")


def test_file_edit_changing_an_answer_is_picked_up(kb_file: Path) -> None:
    source = KbSource(path=kb_file, check_every=0)
    edited = KbRow(GIFTS.id, "es", GIFTS.category, GIFTS.questions, "Nueva respuesta.")
    write(kb_file, edited, PAYOUT)
    article = source.kb.get("gift-not-received")
    assert article is not None and article.answer("es") == "Nueva respuesta."


def test_checks_are_throttled_by_check_every(kb_file: Path) -> None:
    clock = Clock()
    source = KbSource(path=kb_file, check_every=10, clock=clock)
    assert "password-reset" not in source.kb
    write(kb_file, GIFTS, PAYOUT, PASSWORD)
    clock.now += 9
    assert "password-reset" not in source.kb
    clock.now += 1
    assert "password-reset" in source.kb


def test_database_import_is_picked_up(kb_file: Path, engine: Engine) -> None:
    source = KbSource(path=kb_file, engine=engine, check_every=0)
    assert "password-reset" not in source.kb
    with Session(engine) as session:
        assert store.upsert_articles(session, rows=[PASSWORD]) == 1
        session.commit()
    result = source.matcher().match("olvidé mi contraseña 😭")
    assert (result.action, result.article_id) == (Action.ANSWER, "password-reset")


def test_imported_row_wins_over_the_file(kb_file: Path, engine: Engine) -> None:
    source = KbSource(path=kb_file, engine=engine, check_every=0)
    source.matcher()
    override = KbRow(GIFTS.id, "es", "gifts", GIFTS.questions, "Respuesta importada.")
    english = KbRow(GIFTS.id, "en", "gifts", ("my gifts are not arriving",), "Imported answer.")
    with Session(engine) as session:
        store.upsert_articles(session, rows=[override, english])
        session.commit()
    article = source.kb.get("gift-not-received")
    assert article is not None
    assert article.answer("es") == "Respuesta importada."
    assert article.answer("en") == "Imported answer."
    assert set(source.kb.articles) == {"gift-not-received", "withdraw-rewards"}


def test_database_only_source(engine: Engine) -> None:
    with Session(engine) as session:
        store.upsert_articles(session, rows=[GIFTS, PAYOUT])
        session.commit()
    source = KbSource(path=None, engine=engine, check_every=0)
    assert source.matcher().match("quiero sacar mi dinero").article_id == "withdraw-rewards"


def test_broken_edit_keeps_the_previous_kb_and_logs(
    kb_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = KbSource(path=kb_file, check_every=0)
    before = source.matcher()
    mtime = kb_file.stat().st_mtime_ns
    kb_file.write_text(
        ",".join(COLUMNS) + "\nBAD ID!!,es,gifts,no me llegan los regalos,\n", encoding="utf-8"
    )
    bump(kb_file, mtime)
    with caplog.at_level(logging.ERROR, logger="handlers.kb.source"):
        after = source.matcher()
    assert after is before
    assert after.match("no me llegan los regalos").article_id == "gift-not-received"
    assert any(r.levelno == logging.ERROR and "previous KB" in r.message for r in caplog.records)


def test_fixing_a_broken_file_is_picked_up(kb_file: Path) -> None:
    source = KbSource(path=kb_file, check_every=0)
    source.matcher()
    mtime = kb_file.stat().st_mtime_ns
    kb_file.write_text("id;locale;category\n", encoding="utf-8")
    bump(kb_file, mtime)
    assert "password-reset" not in source.kb
    write(kb_file, GIFTS, PAYOUT, PASSWORD)
    assert "password-reset" in source.kb


def test_broken_file_at_startup_raises(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text("esto no es un csv de kb\n", encoding="utf-8")
    with pytest.raises(KbFormatError):
        KbSource(path=path, check_every=0).matcher()


def test_emptied_file_does_not_crash(kb_file: Path) -> None:
    source = KbSource(path=kb_file, check_every=0)
    source.matcher()
    write(kb_file)
    assert source.matcher().match("no me llegan los regalos").action is not Action.ANSWER


def test_vanished_file_keeps_the_previous_kb(kb_file: Path, engine: Engine) -> None:
    with Session(engine) as session:
        store.upsert_articles(session, rows=[PASSWORD])
        session.commit()
    source = KbSource(path=kb_file, engine=engine, check_every=0)
    assert len(source.kb) == 3
    kb_file.unlink()
    assert "gift-not-received" in source.kb
