"""Reading and writing the KB import format (CSV or XLSX): ``id,locale,category,questions,answer``.

A file is validated whole before anything uses it, so a bad row never leaves a half import.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from openpyxl import Workbook, load_workbook

from handlers.kb.articles import KbRow, join_variants, split_variants

COLUMNS: tuple[str, ...] = ("id", "locale", "category", "questions", "answer")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
_LOCALE = re.compile(r"^[a-z]{2}([-_][A-Za-z]{2})?$")
MAX_FIELD_CHARS = 8000


class KbFormatError(ValueError):
    """The file has problems; ``problems`` lists ``(line, message)`` pairs."""

    def __init__(self, path: Path, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  line {line}: {message}" for line, message in problems)
        super().__init__(f"{path}: {len(problems)} problem(s)\n{lines}")


def read_kb_file(path: Path | str) -> list[KbRow]:
    path = Path(path)
    records = _read_xlsx(path) if path.suffix.lower() == ".xlsx" else _read_csv(path)
    rows: list[KbRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    header_checked = False
    for line, values in records:
        if not header_checked:
            header_checked = True
            header = tuple(v.strip().lower() for v in values)
            if header != COLUMNS:
                raise KbFormatError(path, [(line, f"header must be {','.join(COLUMNS)}")])
            continue
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


def _parse_row(values: list[str]) -> tuple[KbRow | None, str | None]:
    if len(values) != len(COLUMNS):
        return None, f"expected {len(COLUMNS)} columns, found {len(values)}"
    article_id, locale, category, questions, answer = (v.strip() for v in values)
    if not _ID.match(article_id):
        return None, f"id {article_id!r} must be lowercase letters, digits, '-' or '_'"
    if not _LOCALE.match(locale):
        return None, f"locale {locale!r} is not a language code like 'es' or 'en'"
    variants = split_variants(questions)
    if not variants:
        return None, "questions is empty"
    if not answer:
        return None, "answer is empty"
    if len(answer) > MAX_FIELD_CHARS or len(questions) > MAX_FIELD_CHARS:
        return None, f"a field is longer than {MAX_FIELD_CHARS} characters"
    lang = locale.replace("_", "-").split("-")[0].lower()
    return KbRow(article_id, lang, category, variants, answer), None


def _read_csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            start = 1
            for values in reader:
                yield start, values
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise KbFormatError(path, [(0, f"not UTF-8 text ({exc.reason})")]) from exc
    except csv.Error as exc:
        raise KbFormatError(path, [(0, f"not valid CSV: {exc}")]) from exc


def _read_xlsx(path: Path) -> Iterator[tuple[int, list[str]]]:
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


def write_kb_file(path: Path | str, rows: Iterable[KbRow]) -> int:
    """Write rows sorted by id then locale; returns how many were written."""
    path = Path(path)
    ordered = sorted(rows, key=lambda r: (r.id, r.locale))
    records = [[r.id, r.locale, r.category, join_variants(r.questions), r.answer] for r in ordered]
    if path.suffix.lower() == ".xlsx":
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "kb"
        sheet.append(list(COLUMNS))
        for record in records:
            sheet.append(record)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # text that looks like a formula stays text
        workbook.save(path)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(records)
    return len(records)
