"""The insights workbook over the known history: every summary figure and every chart series,
read back from the saved file with openpyxl."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart
from openpyxl.utils.cell import range_boundaries
from sqlmodel import Session

from bot.cli import main
from handlers.api import Puente
from handlers.insights import metrics
from handlers.insights.report import build_report, excel_date_format
from handlers.kb import gaps
from tests import insights_history as history
from tests.conftest import FakeClock


@pytest.fixture
def built(puente: Puente, clock: FakeClock) -> Puente:
    history.build(puente, clock)
    return puente


def write(puente: Puente, path: Path, locale: str) -> Any:
    matcher = puente.kb.matcher()
    with Session(puente.engine) as session:
        found = metrics.metrics(session, history.MONDAY, history.NOW, matcher=matcher)
        missing = gaps.kb_gaps(session, history.MONDAY, history.NOW, matcher)
    build_report(found, missing, path, locale)
    return load_workbook(path)


def values(book: Any, reference: str) -> list[Any]:
    """The cells a chart reference like 'Por día'!$B$2:$B$4 points at, in order."""
    sheet, _, cells = reference.rpartition("!")
    low_col, low_row, high_col, high_row = range_boundaries(cells.replace("$", ""))
    ws = book[sheet.strip("'")]
    return [
        ws.cell(row, col).value
        for row in range(low_row, high_row + 1)
        for col in range(low_col, high_col + 1)
    ]


def series(book: Any, chart: Any) -> dict[str, list[Any]]:
    found = {}
    for s in chart.series:
        title = values(book, s.tx.strRef.f)[0]
        found[title] = values(book, s.val.numRef.f)
    return found


def categories(book: Any, chart: Any) -> list[Any]:
    cat = chart.series[0].cat
    ref = cat.numRef or cat.strRef
    return values(book, ref.f)


def day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def test_spanish_workbook(built: Puente, tmp_path: Path) -> None:
    book = write(built, tmp_path / "report.xlsx", "es")
    assert book.sheetnames == [
        "Resumen", "Semanas", "Categorías", "Causas raíz", "Idiomas", "Plataformas",
        "Por día", "SLA", "Huecos de la KB", "Quejas repetidas",
    ]  # fmt: skip
    summary = {row[0]: row[1] for row in book["Resumen"].iter_rows(min_row=4, values_only=True)}
    assert summary["Conversaciones"] == "5"
    assert summary["Tasa de resolución por el bot"] == "20,0\u00a0%"
    assert summary["Tasa de escalado"] == "40,0\u00a0%"
    assert summary["Casos"] == "3"
    assert summary["Primera respuesta p50 (h)"] == "5 horas"  # 5.25 h
    assert summary["Resolución p50 (h)"] == "12 horas"
    assert summary["Cumplimiento del SLA"] == "33,3\u00a0%"
    assert summary["Satisfacción (1-5)"] == "3,5"
    assert summary["Contactos repetidos"] == "1"
    assert summary["Temas que faltan en la KB"] == "1"  # topics of one creator are their case
    assert "23 de noviembre de 2026" in book["Resumen"]["A2"].value

    daily = book["Por día"]
    stacked, trend = daily._charts
    assert isinstance(stacked, BarChart) and stacked.grouping == "stacked"
    assert [day(v) for v in categories(book, stacked)] == [
        date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)
    ]  # fmt: skip
    assert series(book, stacked) == {
        "P1": [0, 0, 0],
        "P2": [0, 0, 0],
        "P3": [1, 2, 0],
        "P4": [0, 0, 0],
    }
    assert isinstance(trend, LineChart)
    assert series(book, trend) == {"Tasa de resolución por el bot": [0.5, 0, 0]}
    assert daily["A2"].number_format == excel_date_format("es") == "d/m/yyyy"

    (sla,) = book["SLA"]._charts
    assert categories(book, sla) == ["P1", "P2", "P3", "P4"]
    assert series(book, sla) == {"Cumplimiento del SLA": [None, None, pytest.approx(1 / 3), None]}

    (top,) = book["Categorías"]._charts
    assert categories(book, top) == ["payouts", "none", "human_request"]
    assert series(book, top) == {"Conversaciones": [2, 2, 1]}

    (missing,) = book["Huecos de la KB"]._charts
    assert sorted(
        zip(categories(book, missing), series(book, missing)["Preguntas"], strict=True)
    ) == [("cómo cambio el color del gato virtual", 2)]
    repeats = list(book["Quejas repetidas"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[2], r[3]) for r in repeats] == [("Beto", "telegram", "payouts", 2)]


def test_english_workbook_formats_for_english_readers(built: Puente, tmp_path: Path) -> None:
    book = write(built, tmp_path / "report.xlsx", "en")
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=4, values_only=True)}
    assert summary["KB deflection rate"] == "20.0%"
    assert summary["SLA attainment"] == "33.3%"
    assert summary["Satisfaction (1-5)"] == "3.5"
    assert summary["First response p90 (h)"] == "9 hours"  # 9.05 h
    assert "November 23, 2026" in book["Summary"]["A2"].value
    assert book["Daily"]["A2"].number_format == "m/d/yyyy"
    weeks = list(book["Weeks"].iter_rows(min_row=2, values_only=True))
    assert [(day(r[0]), r[1], r[3]) for r in weeks] == [(date(2026, 11, 23), 5, pytest.approx(0.2))]


def test_report_command(built: Puente, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", str(built.engine.url))
    monkeypatch.setenv("PUENTE_SEMANTIC", "false")
    monkeypatch.setenv("PUENTE_TRIAGE", "false")
    out = tmp_path / "out" / "report.xlsx"
    args = ["report", "--since", "3d", "--until", "2026-11-25T15:00:00", "--out", str(out)]
    assert main([*args, "--locale", "en"]) == 0
    summary = load_workbook(out)["Summary"]
    figures = {row[0]: row[1] for row in summary.iter_rows(min_row=4, values_only=True)}
    assert figures["Conversations"] == "5" and figures["Cases"] == "3"
    with pytest.raises(SystemExit):
        main(["report", "--since", "3x"])


def test_creators_words_stay_text_in_the_workbook(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://evil.example","clic")\x0b\x00'
    found = metrics.Metrics(
        since=history.MONDAY, until=history.NOW, total=metrics.Figures(), by_week=[],
        by_category=[metrics.Row("=1+1", metrics.Figures(conversations=1))], by_root_cause=[],
        by_locale=[], by_platform=[], by_priority=[], days=[],
    )  # fmt: skip
    gap = gaps.GapCluster("k", hostile, "es", 2, 0, (hostile,))
    book = load_workbook(build_report(found, [gap], tmp_path / "r.xlsx", "es"))
    cell = book["Huecos de la KB"]["A2"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://evil.example","clic")'
    assert book["Categorías"]["A2"].value == "=1+1" and book["Categorías"]["A2"].data_type == "s"
