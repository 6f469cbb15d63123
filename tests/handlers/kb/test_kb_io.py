from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from handlers.kb.files import KbFormatError, read_kb_file, write_kb_file
from handlers.kb.source import SHIPPED_KB

HEADER = "id,locale,category,questions,answer\n"


def write(tmp_path: Path, body: str, name: str = "kb.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_shipped_kb_has_30_topics_in_spanish_and_english() -> None:
    rows = read_kb_file(SHIPPED_KB)
    locales: dict[str, set[str]] = {}
    for row in rows:
        locales.setdefault(row.id, set()).add(row.locale)
        assert len(row.questions) >= 3, row.id
    assert len(locales) >= 30
    assert all(langs == {"es", "en"} for langs in locales.values())
    assert {"live-eligibility", "gift-not-received", "stream-key", "ban-appeal"} <= set(locales)


def test_variants_are_split_on_pipes(tmp_path: Path) -> None:
    path = write(tmp_path, 'a,es,gifts,"¿Uno? | dos |  | tres",Respuesta\n')
    (row,) = read_kb_file(path)
    assert row.questions == ("¿Uno?", "dos", "tres")
    assert (row.id, row.locale, row.category, row.answer) == ("a", "es", "gifts", "Respuesta")


def test_malformed_rows_are_reported_with_line_numbers(tmp_path: Path) -> None:
    body = (
        "ok,es,gifts,Pregunta,Respuesta\n"
        'multi,es,gifts,"Pregunta\nen dos líneas",Respuesta\n'
        "Bad Id,es,gifts,Pregunta,Respuesta\n"
        "no-answer,es,gifts,Pregunta,\n"
        "short,es,gifts\n"
        "ok,es,gifts,Otra,Duplicada\n"
        "loc,español,gifts,Pregunta,Respuesta\n"
    )
    with pytest.raises(KbFormatError) as error:
        read_kb_file(write(tmp_path, body))
    assert [line for line, _ in error.value.problems] == [5, 6, 7, 8, 9]
    assert "line 5:" in str(error.value) and "duplicate" in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"id,question,answer\nx,y,z\n", "header"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
    ],
)
def test_unreadable_files_are_rejected(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "kb.csv"
    path.write_bytes(content)
    with pytest.raises(KbFormatError, match=message):
        read_kb_file(path)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    rows = read_kb_file(SHIPPED_KB)
    path = tmp_path / f"kb{suffix}"
    assert write_kb_file(path, rows) == len(rows)
    assert sorted(read_kb_file(path), key=lambda r: (r.id, r.locale)) == sorted(
        rows, key=lambda r: (r.id, r.locale)
    )


def test_xlsx_keeps_formula_looking_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "kb.xlsx"
    rows = read_kb_file(write(tmp_path, "f,es,gifts,=1+1 | hola,=HYPERLINK(1)\n"))
    write_kb_file(path, rows)
    cell = load_workbook(path).active["E2"]
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(1)"


def test_xlsx_errors_use_row_numbers(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["id", "locale", "category", "questions", "answer"])
    sheet.append(["a", "es", "gifts", "Pregunta", "Respuesta"])
    sheet.append(["b", "es", "gifts", None, "Respuesta"])
    path = tmp_path / "kb.xlsx"
    workbook.save(path)
    with pytest.raises(KbFormatError) as error:
        read_kb_file(path)
    assert error.value.problems == [(3, "questions is empty")]


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "kb.xlsx"
    path.write_text("hello")
    with pytest.raises(KbFormatError, match="XLSX"):
        read_kb_file(path)


def test_csv_export_is_spreadsheet_friendly(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_kb_file(path, read_kb_file(SHIPPED_KB))
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == ["id", "locale", "category", "questions", "answer"]
