"""The insights workbook (openpyxl): a summary sheet, the metrics tables, KB gaps, repeat
contacts and native Excel charts, labelled and formatted in one locale.

Sheets hold real numbers and dates (so charts and spreadsheet formulas work); the summary's
figures are written as text formatted by Babel, the way a reader of that locale expects them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from babel import Locale
from babel.dates import format_date, get_date_format
from babel.numbers import format_decimal, format_percent
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from handlers.common.i18n import N_, Translator, translator
from handlers.insights.metrics import PRIORITIES, Figures, Metrics, Row
from handlers.kb.gaps import GapCluster

PERCENT = "0.0%"
HOURS = "0.0"
TOP = 10

SHEETS = {
    "summary": N_("report_sheet_summary"),
    "weeks": N_("report_sheet_weeks"),
    "categories": N_("report_sheet_categories"),
    "root_causes": N_("report_sheet_root_causes"),
    "locales": N_("report_sheet_locales"),
    "platforms": N_("report_sheet_platforms"),
    "days": N_("report_sheet_days"),
    "sla": N_("report_sheet_sla"),
    "gaps": N_("report_sheet_gaps"),
    "repeats": N_("report_sheet_repeats"),
}
FIGURE_COLUMNS = (
    N_("report_col_conversations"),
    N_("report_col_deflected"),
    N_("report_col_deflection_rate"),
    N_("report_col_escalated"),
    N_("report_col_escalation_rate"),
    N_("report_col_cases"),
    N_("report_col_first_response_p50"),
    N_("report_col_first_response_p90"),
    N_("report_col_resolution_p50"),
    N_("report_col_resolution_p90"),
    N_("report_col_sla_met"),
    N_("report_col_sla_counted"),
    N_("report_col_sla_attainment"),
    N_("report_col_satisfaction"),
    N_("report_col_survey_answers"),
    N_("report_col_repeat_contacts"),
)
FIGURE_FORMATS = (None, None, PERCENT, None, PERCENT, None, HOURS, HOURS, HOURS, HOURS,
                  None, None, PERCENT, "0.0", None, None)  # fmt: skip


def excel_date_format(locale: str) -> str:
    """The locale's short date pattern (Babel/CLDR) in Excel's notation: es d/m/yyyy."""
    pattern = get_date_format("short", locale=locale).pattern
    pattern = pattern.replace("M", "m")
    return pattern.replace("yy", "y").replace("y", "yyyy") if "y" in pattern else pattern


def build_report(
    metrics: Metrics,
    gaps: Sequence[GapCluster],
    path: Path,
    locale: str = "es",
) -> Path:
    """Write the workbook to ``path`` and return it."""
    t = translator(locale)
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _sheet_title("summary", t)
    _summary(summary, metrics, gaps, t)
    for key, rows, label in (
        ("weeks", metrics.by_week, N_("report_col_week")),
        ("categories", metrics.by_category, N_("report_col_category")),
        ("root_causes", metrics.by_root_cause, N_("report_col_root_cause")),
        ("locales", metrics.by_locale, N_("report_col_locale")),
        ("platforms", metrics.by_platform, N_("report_col_platform")),
    ):
        sheet = book.create_sheet(_sheet_title(key, t))
        _figures_table(sheet, rows, t.gettext(label), t)
        if key == "categories":
            _bar(sheet, t.gettext("report_chart_categories"), 2, len(rows[:TOP]), "T2", t)
    _days(book.create_sheet(_sheet_title("days", t)), metrics, t)
    _sla(book.create_sheet(_sheet_title("sla", t)), metrics.by_priority, t)
    _gaps(book.create_sheet(_sheet_title("gaps", t)), gaps, t)
    _repeats(book.create_sheet(_sheet_title("repeats", t)), metrics, t)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _append(sheet: Worksheet, values: Sequence[object]) -> None:
    """A row whose text stays text: creators' words never become formulas (``=HYPERLINK…``)
    and characters Excel refuses are dropped instead of failing the whole report."""
    sheet.append([_text(v) if isinstance(v, str) else v for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _sheet_title(key: str, t: Translator) -> str:
    """Excel sheet names: at most 31 characters."""
    return t.gettext(SHEETS[key])[:31]


def headline_lines(figures: Figures, t: Translator) -> list[tuple[str, str]]:
    """(label, value) pairs of the headline figures, formatted for ``t``'s locale."""
    return [
        (t.gettext("report_col_conversations"), t.number(figures.conversations)),
        (t.gettext("report_col_deflection_rate"), _percent(figures.deflection_rate, t)),
        (t.gettext("report_col_escalation_rate"), _percent(figures.escalation_rate, t)),
        (t.gettext("report_col_cases"), t.number(figures.escalations)),
        (t.gettext("report_col_first_response_p50"), _duration(figures.first_response_p50, t)),
        (t.gettext("report_col_first_response_p90"), _duration(figures.first_response_p90, t)),
        (t.gettext("report_col_resolution_p50"), _duration(figures.resolution_p50, t)),
        (t.gettext("report_col_resolution_p90"), _duration(figures.resolution_p90, t)),
        (t.gettext("report_col_sla_attainment"), _percent(figures.sla_attainment, t)),
        (t.gettext("report_col_satisfaction"), _score(figures.satisfaction_avg, t)),
        (t.gettext("report_col_repeat_contacts"), t.number(figures.repeat_contacts)),
    ]


def _percent(value: float | None, t: Translator) -> str:
    if value is None:
        return "—"
    pattern = Locale.parse(t.locale).percent_formats[None].pattern  # es "#,##0 %"
    head, _, tail = pattern.rpartition("0")
    return format_percent(value, format=f"{head}0.0{tail}", locale=t.locale)


def _duration(seconds: float | None, t: Translator) -> str:
    return "—" if seconds is None else t.timedelta(seconds)


def _score(value: float | None, t: Translator) -> str:
    return "—" if value is None else format_decimal(value, format="0.0", locale=t.locale)


def _summary(sheet: Worksheet, metrics: Metrics, gaps: Sequence[GapCluster], t: Translator) -> None:
    _append(sheet, [t.gettext("report_title")])
    sheet["A1"].font = Font(bold=True, size=14)
    period = t.gettext(
        "report_period",
        since=format_date(metrics.since, format="long", locale=t.locale),
        until=format_date(metrics.until, format="long", locale=t.locale),
    )
    _append(sheet, [period])
    _append(sheet, [])
    for label, value in headline_lines(metrics.total, t):
        _append(sheet, [label, value])
    _append(sheet, [t.gettext("report_gap_topics"), t.number(len(gaps))])
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 24


def _header(sheet: Worksheet, labels: Sequence[str]) -> None:
    _append(sheet, list(labels))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for n, label in enumerate(labels, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = max(12, min(40, len(label) + 2))


def _key(key: str | date, t: Translator) -> str | date:
    if isinstance(key, date):
        return key
    return key or t.gettext("report_none")


def _figure_values(figures: Figures) -> list[float | int | None]:
    def hours(seconds: float | None) -> float | None:
        return None if seconds is None else seconds / 3600

    return [
        figures.conversations,
        figures.deflected,
        figures.deflection_rate,
        figures.escalated,
        figures.escalation_rate,
        figures.escalations,
        hours(figures.first_response_p50),
        hours(figures.first_response_p90),
        hours(figures.resolution_p50),
        hours(figures.resolution_p90),
        figures.sla_met,
        figures.sla_counted,
        figures.sla_attainment,
        figures.satisfaction_avg,
        figures.satisfaction_count,
        figures.repeat_contacts,
    ]


def _figures_table(sheet: Worksheet, rows: Sequence[Row], label: str, t: Translator) -> None:
    _header(sheet, [label, *(t.gettext(c) for c in FIGURE_COLUMNS)])
    date_format = excel_date_format(t.locale)
    for row in rows:
        _append(sheet, [_key(row.key, t), *_figure_values(row.figures)])
        cells = sheet[sheet.max_row]
        if isinstance(row.key, date):
            cells[0].number_format = date_format
        for cell, number_format in zip(cells[1:], FIGURE_FORMATS, strict=True):
            if number_format:
                cell.number_format = number_format


def _days(sheet: Worksheet, metrics: Metrics, t: Translator) -> None:
    labels = [
        t.gettext("report_col_day"),
        *PRIORITIES,
        t.gettext("report_col_conversations"),
        t.gettext("report_col_deflected"),
        t.gettext("report_col_deflection_rate"),
    ]
    _header(sheet, labels)
    date_format = excel_date_format(t.locale)
    for day in metrics.days:
        values = [day.escalations.get(p, 0) for p in PRIORITIES]
        _append(sheet, [day.day, *values, day.conversations, day.deflected, day.deflection_rate])
        cells = sheet[sheet.max_row]
        cells[0].number_format = date_format
        cells[-1].number_format = PERCENT
    last = sheet.max_row
    categories = Reference(sheet, min_col=1, min_row=2, max_row=last)

    stacked = BarChart()
    stacked.type, stacked.grouping, stacked.overlap = "col", "stacked", 100
    stacked.title = t.gettext("report_chart_escalations")
    stacked.y_axis.title = t.gettext("report_col_cases")
    stacked.add_data(
        Reference(sheet, min_col=2, max_col=5, min_row=1, max_row=last), titles_from_data=True
    )
    stacked.set_categories(categories)
    stacked.x_axis.number_format = date_format
    sheet.add_chart(stacked, "J2")

    trend = LineChart()
    trend.title = t.gettext("report_chart_deflection")
    trend.y_axis.number_format = PERCENT
    trend.add_data(Reference(sheet, min_col=8, min_row=1, max_row=last), titles_from_data=True)
    trend.set_categories(categories)
    sheet.add_chart(trend, "J20")


def _sla(sheet: Worksheet, rows: Sequence[Row], t: Translator) -> None:
    labels = [
        t.gettext("report_col_priority"),
        t.gettext("report_col_cases"),
        t.gettext("report_col_sla_met"),
        t.gettext("report_col_sla_counted"),
        t.gettext("report_col_sla_attainment"),
    ]
    _header(sheet, labels)
    for row in rows:
        f = row.figures
        _append(sheet, [str(row.key), f.escalations, f.sla_met, f.sla_counted, f.sla_attainment])
        sheet[sheet.max_row][4].number_format = PERCENT
    chart = BarChart()
    chart.type = "col"
    chart.title = t.gettext("report_chart_sla")
    chart.y_axis.number_format = PERCENT
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.add_data(
        Reference(sheet, min_col=5, min_row=1, max_row=sheet.max_row), titles_from_data=True
    )
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=sheet.max_row))
    sheet.add_chart(chart, "H2")


def _gaps(sheet: Worksheet, gaps: Sequence[GapCluster], t: Translator) -> None:
    labels = [
        t.gettext("report_col_topic"),
        t.gettext("report_col_locale"),
        t.gettext("report_col_questions"),
        t.gettext("report_col_escalated"),
        t.gettext("report_col_examples"),
    ]
    _header(sheet, labels)
    for gap in gaps:
        _append(sheet, [gap.label, gap.locale, gap.count, gap.escalated, " | ".join(gap.examples)])
    _bar(sheet, t.gettext("report_chart_gaps"), 3, len(gaps[:TOP]), "G2", t)


def _bar(sheet: Worksheet, title: str, column: int, rows: int, anchor: str, t: Translator) -> None:
    """A horizontal bar chart of ``column`` over the first ``rows`` rows (labels in column A)."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    last = 1 + max(rows, 1)
    chart.add_data(Reference(sheet, min_col=column, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=last))
    chart.legend = None
    sheet.add_chart(chart, anchor)


def _repeats(sheet: Worksheet, metrics: Metrics, t: Translator) -> None:
    labels = [
        t.gettext("report_col_creator"),
        t.gettext("report_col_platform"),
        t.gettext("report_col_topic"),
        t.gettext("report_col_contacts"),
        t.gettext("report_col_last_contact"),
    ]
    _header(sheet, labels)
    for row in metrics.repeats:
        last = row.last_at.replace(tzinfo=None)
        _append(sheet, [row.creator, row.platform, row.topic, row.contacts, last])
        sheet[sheet.max_row][4].number_format = excel_date_format(t.locale) + " hh:mm"
