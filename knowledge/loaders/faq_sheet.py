"""FAQ sheets (CSV or XLSX): one question/answer pair per row, English or Chinese headers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from knowledge.loaders.base import Loaded, SkipFile
from knowledge.loaders.limits import MAX_CELL_CHARS, MAX_SHEET_CELLS, check_zip
from knowledge.models import FaqRow, Source

HEADERS = {
    "id": "id",
    "编号": "id",
    "序号": "id",
    "question": "question",
    "问题": "question",
    "问": "question",
    "answer": "answer",
    "答案": "answer",
    "回答": "answer",
    "答": "answer",
    "guide_id": "guide_id",
    "事项编码": "guide_id",
    "事项编号": "guide_id",
    "category": "category",
    "分类": "category",
    "类别": "category",
}


def _rows_from_csv(text: str) -> list[list[str]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _rows_from_xlsx(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    check_zip(path, "XLSX")  # before openpyxl unpacks anything
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise SkipFile(f"unreadable XLSX: {exc.__class__.__name__}") from exc
    try:
        sheet = book.worksheets[0]
        # the stated dimension may claim A1:XFD1048576: read the rows that are there, counting cells
        sheet.reset_dimensions()
        rows: list[list[str]] = []
        cells = 0
        for values in sheet.iter_rows(values_only=True):
            cells += max(1, len(values))  # a row skipped over is still a row read
            if cells > MAX_SHEET_CELLS:
                raise SkipFile(f"sheet too large: more than {MAX_SHEET_CELLS:,} cells")
            row = ["" if v is None else str(v) for v in values]
            if any(len(cell) > MAX_CELL_CHARS for cell in row):
                raise SkipFile(f"row {len(rows) + 1}: a cell holds more than {MAX_CELL_CHARS:,} characters")
            rows.append(row)
    finally:
        book.close()
    return rows


def load_faq_rows(rows: list[list[str]], path: Path, kind: str) -> Loaded:
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise SkipFile("empty sheet")
    header = [HEADERS.get(h.strip().lower().lstrip("\ufeff"), "") for h in rows[0]]
    if "question" not in header or "answer" not in header:
        raise SkipFile("no question/answer columns (expected headers id,question,answer or 编号,问题,答案)")
    loaded = Loaded(kind=kind)
    for n, row in enumerate(rows[1:], start=2):
        record = {field: (row[i].strip() if i < len(row) else "") for i, field in enumerate(header) if field}
        if not record.get("question") or not record.get("answer"):
            loaded.errors.append(f"row {n}: question or answer is empty")
            continue
        faq = FaqRow(
            id=record.get("id") or f"{path.stem}-{n}",
            question=record["question"],
            answer=record["answer"],
            guide_id=record.get("guide_id") or None,
            category=record.get("category") or None,
        )
        loaded.sources.append(Source(id=faq.id, kind="faq", title=faq.question, path=str(path), faq=faq))
    return loaded


def load_csv(text: str, path: Path) -> Loaded:
    return load_faq_rows(_rows_from_csv(text), path, "faq-csv")


def load_xlsx(path: Path) -> Loaded:
    return load_faq_rows(_rows_from_xlsx(path), path, "faq-xlsx")
