"""Hostile KB files: control characters, formula cells, size limits, locales, separators."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from handlers.kb import files
from handlers.kb.articles import KbRow
from handlers.kb.files import KbFormatError, read_kb_file, write_kb_file

HEADER = "id,locale,category,questions,answer\n"


def write(tmp_path: Path, body: str, name: str = "kb.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_a_control_character_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "ok,es,gifts,Pregunta,Respuesta\nbell,es,gifts,Pregunta,Hola\x07mundo\n")
    with pytest.raises(KbFormatError) as error:
        read_kb_file(path)
    assert error.value.problems == [(3, "answer contains a control character (U+0007)")]


def test_tabs_and_newlines_in_an_answer_are_kept(tmp_path: Path) -> None:
    (row,) = read_kb_file(write(tmp_path, 'a,es,gifts,Pregunta,"Paso 1\n\tPaso 2"\n'))
    assert row.answer == "Paso 1\n\tPaso 2"


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+cmd(' /C calc')!A0", "@SUM(1+1)", "-2+3"]


def test_csv_export_neutralises_formula_cells_and_round_trips(tmp_path: Path) -> None:
    rows = [
        KbRow(f"f{i}", "es", "gifts", (formula, "normal"), formula)
        for i, formula in enumerate(FORMULAS)
    ]
    first = tmp_path / "first.csv"
    write_kb_file(first, rows)
    with first.open(encoding="utf-8", newline="") as handle:
        cells = [cell for record in list(csv.reader(handle))[1:] for cell in record]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    again = read_kb_file(first)
    assert [(r.questions, r.answer) for r in again] == [(r.questions, r.answer) for r in rows]
    second = tmp_path / "second.csv"
    write_kb_file(second, again)
    assert second.read_bytes() == first.read_bytes()


def test_only_locales_with_catalogs_and_a_category_are_accepted(tmp_path: Path) -> None:
    body = (
        "a,fr,gifts,Question,Réponse\n"
        "b,xx,gifts,Question,Answer\n"
        "c,es,,Pregunta,Respuesta\n"
        "d,es-MX,gifts,Pregunta,Respuesta\n"
    )
    with pytest.raises(KbFormatError) as error:
        read_kb_file(write(tmp_path, body))
    assert [line for line, _ in error.value.problems] == [2, 3, 4]
    assert "category is empty" in str(error.value)


def test_too_many_problems_are_counted_not_all_printed(tmp_path: Path) -> None:
    body = "".join(f"Bad{i},es,gifts,Pregunta,Respuesta\n" for i in range(100))
    with pytest.raises(KbFormatError) as error:
        read_kb_file(write(tmp_path, body))
    message = str(error.value)
    assert len(error.value.problems) == 100
    assert message.count("\n  line ") == files.MAX_PROBLEMS_SHOWN
    assert "… and 80 more" in message


def test_size_and_row_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_ROWS", 10)
    many = write(tmp_path, "".join(f"a{i},es,gifts,P,R\n" for i in range(11)))
    with pytest.raises(KbFormatError, match="more than 10 rows"):
        read_kb_file(many)
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    with pytest.raises(KbFormatError, match="larger than"):
        read_kb_file(write(tmp_path, "a,es,gifts,P," + "R" * 200 + "\n", "big.csv"))


def test_an_xlsx_that_expands_too_much_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    workbook = Workbook()
    workbook.active.append(list(files.COLUMNS))
    workbook.save(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/padding.bin", b"\0" * (files.MAX_XLSX_EXPANDED_BYTES + 1))
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(KbFormatError, match="expands to more than"):
        read_kb_file(path)


def test_a_semicolon_csv_from_spanish_excel_is_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(
        "\ufeffid;locale;category;questions;answer\n"
        "regalo;es;gifts;¿Y mi regalo?;Revisa, por favor\n",
        encoding="utf-8",
    )
    (row,) = read_kb_file(path)
    assert (row.id, row.answer) == ("regalo", "Revisa, por favor")


def test_a_semicolon_header_that_is_still_wrong_says_so(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("id;pregunta;respuesta\nx;y;z\n", encoding="utf-8")
    with pytest.raises(KbFormatError, match="found ';' separators"):
        read_kb_file(path)


@pytest.mark.parametrize("name", ["kb.json", "kb.pdf", "kb"])
def test_unknown_extensions_are_refused_both_ways(tmp_path: Path, name: str) -> None:
    with pytest.raises(KbFormatError, match="unknown extension"):
        write_kb_file(tmp_path / name, [KbRow("a", "es", "gifts", ("P",), "R")])
    assert not (tmp_path / name).exists()
    (tmp_path / name).write_text(HEADER, encoding="utf-8")
    with pytest.raises(KbFormatError, match="unknown extension"):
        read_kb_file(tmp_path / name)


def test_a_missing_file_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(KbFormatError, match="cannot read the file"):
        read_kb_file(tmp_path / "missing.csv")


def test_xlsx_export_cleans_control_characters_stored_before(tmp_path: Path) -> None:
    path = tmp_path / "kb.xlsx"
    write_kb_file(path, [KbRow("a", "es", "gifts", ("P\x07",), "Hola\x07mundo")])
    (row,) = read_kb_file(path)
    assert (row.questions, row.answer) == (("P",), "Holamundo")
