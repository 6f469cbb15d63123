"""Reading and writing the KB import format (CSV or XLSX): ``id,locale,category,questions,answer``.

A file is validated whole before anything uses it, so a bad row never leaves a half import.
Files come from spreadsheets people edit by hand, so reading is defensive: bounded size,
rows and expanded XLSX size; control characters refused with their line; ``;`` separators (what
Excel saves in Spanish) detected. Writing neutralises cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from openpyxl import Workbook, load_workbook

from handlers.common.i18n import SUPPORTED_LOCALES
from handlers.kb.articles import KbRow, join_variants, split_variants

COLUMNS: tuple[str, ...] = ("id", "locale", "category", "questions", "answer")
EXTENSIONS: tuple[str, ...] = (".csv", ".xlsx")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
_LOCALE = re.compile(r"^[a-z]{2}([-_][A-Za-z]{2})?$")
MAX_CATEGORY_CHARS = 80
# What XML 1.0 (so XLSX) can't hold; tab and newlines are kept, they are common in answers.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_FIELD_CHARS = 8000
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
MAX_XLSX_EXPANDED_BYTES = 50 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 20
# A leading character that makes a spreadsheet evaluate the cell (CSV/formula injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISER = "'"


class KbFormatError(ValueError):
    """The file has problems; ``problems`` lists ``(line, message)`` pairs (all of them), the
    message shows the first :data:`MAX_PROBLEMS_SHOWN` and how many more there are."""

    def __init__(self, path: Path, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = problems
        if len(problems) == 1 and not problems[0][0]:  # about the whole file: one line
            super().__init__(f"{path}: {problems[0][1]}")
            return
        shown = problems[:MAX_PROBLEMS_SHOWN]
        lines = [f"  line {line}: {message}" if line else f"  {message}" for line, message in shown]
        if len(problems) > len(shown):
            lines.append(f"  … and {len(problems) - len(shown)} more")
        super().__init__(f"{path}: {len(problems)} problem(s)\n" + "\n".join(lines))


def check_extension(path: Path) -> None:
    """Refuse a file name Puente would not read or write as the user expects."""
    if path.suffix.lower() not in EXTENSIONS:
        raise KbFormatError(
            path, [(0, f"unknown extension {path.suffix or '(none)'!r}: use .csv or .xlsx")]
        )


def read_kb_file(path: Path | str) -> list[KbRow]:
    path = Path(path)
    check_extension(path)
    _check_size(path)
    records = _read_xlsx(path) if path.suffix.lower() == ".xlsx" else _read_csv(path)
    rows: list[KbRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    header_checked = False
    for count, (line, values) in enumerate(records):
        if not header_checked:
            header_checked = True
            _check_header(path, line, values)
            continue
        if count > MAX_ROWS:
            raise KbFormatError(path, [(line, f"more than {MAX_ROWS} rows: split the file")])
        if not any(v.strip() for v in values):
            continue
        row, problem = _parse_row(values)
        if problem is None and row is not None:
            key = (row.id, row.locale)
            if key in seen:
                first = seen[key]
                problem = f"duplicate article {row.id!r} in {row.locale!r} (first on line {first})"
            else:
                seen[key] = line
                rows.append(row)
        if problem:
            problems.append((line, problem))
    if not header_checked:
        raise KbFormatError(path, [(1, "the file is empty")])
    if problems:
        raise KbFormatError(path, problems)
    return rows


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise KbFormatError(path, [(0, f"cannot read the file: {exc.strerror}")]) from exc
    if size > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        raise KbFormatError(path, [(0, f"the file is larger than {limit} MB: split it")])


def _check_header(path: Path, line: int, values: list[str]) -> None:
    header = tuple(v.strip().lower() for v in values)
    if header == COLUMNS:
        return
    hint = ""
    if len(values) == 1 and ";" in values[0]:
        hint = " (found ';' separators: save as comma-separated CSV)"
    raise KbFormatError(path, [(line, f"header must be {','.join(COLUMNS)}{hint}")])


def _parse_row(values: list[str]) -> tuple[KbRow | None, str | None]:
    if len(values) != len(COLUMNS):
        return None, f"expected {len(COLUMNS)} columns, found {len(values)}"
    article_id, locale, category, questions, answer = (_unneutralised(v.strip()) for v in values)
    for name, value in zip(COLUMNS, (article_id, locale, category, questions, answer), strict=True):
        control = _CONTROL.search(value)
        if control:
            return None, f"{name} contains a control character (U+{ord(control[0]):04X})"
    if not _ID.match(article_id):
        return None, f"id {article_id!r} must be lowercase letters, digits, '-' or '_'"
    if not _LOCALE.match(locale):
        return None, f"locale {locale!r} is not a language code like 'es' or 'en'"
    lang = locale.replace("_", "-").split("-")[0].lower()
    if lang not in SUPPORTED_LOCALES:
        return None, f"locale {locale!r} is not one of {', '.join(SUPPORTED_LOCALES)}"
    if not category:
        return None, "category is empty"
    if len(category) > MAX_CATEGORY_CHARS:
        return None, f"category is longer than {MAX_CATEGORY_CHARS} characters"
    variants = split_variants(questions)
    if not variants:
        return None, "questions is empty"
    if not answer:
        return None, "answer is empty"
    if len(answer) > MAX_FIELD_CHARS or len(questions) > MAX_FIELD_CHARS:
        return None, f"a field is longer than {MAX_FIELD_CHARS} characters"
    return KbRow(article_id, lang, category, variants, answer), None


def _read_csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=_delimiter(handle))
            start = 1
            for values in reader:
                yield start, values
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise KbFormatError(path, [(0, f"not UTF-8 text ({exc.reason})")]) from exc
    except csv.Error as exc:
        raise KbFormatError(path, [(0, f"not valid CSV: {exc}")]) from exc


def _delimiter(handle: TextIO) -> str:
    """``,`` unless the header line is separated by ``;`` (what Excel saves in Spanish)."""
    first = handle.readline()
    handle.seek(0)
    if first.count(";") >= len(COLUMNS) - 1 and first.count(",") < len(COLUMNS) - 1:
        return ";"
    return ","


def _read_xlsx(path: Path) -> Iterator[tuple[int, list[str]]]:
    _check_expanded_size(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a bad file
        raise KbFormatError(path, [(0, f"not a readable XLSX workbook: {exc}")]) from exc
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            values = ["" if cell is None else str(cell) for cell in cells]
            while len(values) > len(COLUMNS) and not values[-1]:
                values.pop()
            yield number, values
    finally:
        workbook.close()


def _check_expanded_size(path: Path) -> None:
    """A small XLSX can unzip to gigabytes (a zip bomb): refuse it before openpyxl reads it."""
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise KbFormatError(path, [(0, f"not a readable XLSX workbook: {exc}")]) from exc
    if expanded > MAX_XLSX_EXPANDED_BYTES:
        limit = MAX_XLSX_EXPANDED_BYTES // (1024 * 1024)
        raise KbFormatError(path, [(0, f"the workbook expands to more than {limit} MB")])


def neutralised(value: str) -> str:
    """A cell a spreadsheet shows as text: ``'`` before ``= + - @``, tab or CR at the start."""
    return _NEUTRALISER + value if value.startswith(_FORMULA_START) else value


def _unneutralised(value: str) -> str:
    """Undo :func:`neutralised` so export → import → export gives the same file."""
    if value.startswith(_NEUTRALISER) and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def write_kb_file(path: Path | str, rows: Iterable[KbRow]) -> int:
    """Write rows sorted by id then locale; returns how many were written."""
    path = Path(path)
    check_extension(path)
    ordered = sorted(rows, key=lambda r: (r.id, r.locale))
    records = [[r.id, r.locale, r.category, join_variants(r.questions), r.answer] for r in ordered]
    if path.suffix.lower() == ".xlsx":
        _write_xlsx(path, records)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows([[neutralised(value) for value in record] for record in records])
    return len(records)


def _write_xlsx(path: Path, records: list[list[str]]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "kb"
    sheet.append(list(COLUMNS))
    for record in records:  # articles stored before import refused control characters
        sheet.append([_CONTROL.sub("", value) for value in record])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
    workbook.save(path)
