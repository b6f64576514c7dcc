"""Ingest limits (issue 15, item 3): a hostile or broken file is skipped with its reason, within
1 GB of memory — a sheet claiming a million rows, a 300 MB cell, a 3 MB line of text, too many pages."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from knowledge import load_sources
from knowledge.loaders import documents as documents_module
from knowledge.loaders import limits

ROOT = Path(__file__).resolve().parents[1]
GB = 2**30


def faq_workbook(path: Path, rows: int = 1) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["问题", "答案"])
    for n in range(rows):
        sheet.append([f"周六能办吗？{n}", "周六上午办理。"])
    book.save(path)
    return path


def rewrite_part(path: Path, name: str, write) -> Path:
    """``path`` with its zip part ``name`` replaced by what ``write(stream)`` writes (deflated)."""
    with zipfile.ZipFile(path) as old:
        parts = {info.filename: old.read(info) for info in old.infolist() if info.filename != name}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for part, data in parts.items():
            new.writestr(part, data)
        with new.open(name, "w") as stream:
            write(stream)
    return path


def sheet_xml(rows: str, dimension: str = "A1:B2") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    ).encode()


HEADER_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>问题</t></is></c><c r="B1" t="inlineStr"><is><t>答案</t></is></c></row>'


def answer_row(r: int, answer: str) -> str:
    return (
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>能办吗</t></is></c>'
        f'<c r="B{r}" t="inlineStr"><is><t>{answer}</t></is></c></row>'
    )


def dimension_bomb(path: Path, far_row: bool = True) -> Path:
    """A tiny workbook whose sheet claims A1:XFD1048576 and has a cell in its last row: openpyxl
    pads every row to the claimed 16,384 columns and yields every row in between."""
    rows = (
        HEADER_ROW + answer_row(2, "可以") + ('<row r="1048576"><c r="A1048576"/></row>' if far_row else "")
    )
    faq_workbook(path)
    return rewrite_part(path, "xl/worksheets/sheet1.xml", lambda s: s.write(sheet_xml(rows, "A1:XFD1048576")))


def huge_cell(path: Path, megabytes: int = 300) -> Path:
    """A ~300 KB workbook whose one shared string unpacks to ``megabytes`` MB."""
    faq_workbook(path)

    def write(stream) -> None:
        stream.write(
            b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main" count="3" uniqueCount="3"><si><t>'
        )
        for _ in range(megabytes):
            stream.write(b"A" * 2**20)
        stream.write("</t></si><si><t>问题</t></si><si><t>答案</t></si></sst>".encode())

    return rewrite_part(path, "xl/sharedStrings.xml", write)


def skipped(path: Path) -> str | None:
    report = load_sources([path])
    assert len(report.files) == 1
    return report.files[0].skipped


def test_a_sheet_is_read_by_its_cells_not_its_claimed_dimension(tmp_path):
    report = load_sources([dimension_bomb(tmp_path / "claims.xlsx", far_row=False)])
    assert report.ok and [s.faq.answer for s in report.sources] == ["可以"]


def test_a_sheet_over_the_cell_budget_is_skipped(tmp_path):
    # one real row at the last row number: the rows skipped over are read (and counted) too
    path = faq_workbook(tmp_path / "far.xlsx")
    rows = HEADER_ROW + answer_row(1048576, "可以")
    rewrite_part(path, "xl/worksheets/sheet1.xml", lambda s: s.write(sheet_xml(rows, "A1")))
    assert f"more than {limits.MAX_SHEET_CELLS:,} cells" in skipped(path)


def test_a_cell_over_excels_limit_is_skipped(tmp_path):
    path = faq_workbook(tmp_path / "long.xlsx")
    rows = HEADER_ROW + answer_row(2, "办" * (limits.MAX_CELL_CHARS + 1))
    rewrite_part(path, "xl/worksheets/sheet1.xml", lambda s: s.write(sheet_xml(rows)))
    assert "row 2: a cell holds more than 32,767 characters" in skipped(path)


def test_a_part_that_unpacks_too_large_is_refused_before_parsing(tmp_path):
    path = huge_cell(tmp_path / "cell.xlsx", megabytes=40)
    reason = skipped(path)
    assert "xl/sharedStrings.xml unpacks to 40 MB" in reason and "zip bomb" in reason


def test_a_docx_is_checked_like_an_xlsx(tmp_path, monkeypatch):
    import docx

    d = docx.Document()
    d.add_paragraph("老年人优待证办理须知" * 50)
    path = tmp_path / "notice.docx"
    d.save(path)
    size = next(p.file_size for p in zipfile.ZipFile(path).infolist() if p.filename == "word/document.xml")
    monkeypatch.setattr(limits, "MAX_ZIP_XML_BYTES", size - 1)
    assert f"word/document.xml unpacks to {size:,} bytes" in skipped(path)
    monkeypatch.setattr(limits, "MAX_ZIP_XML_BYTES", 32 * limits.MB)
    monkeypatch.setattr(limits, "MAX_ZIP_TOTAL_BYTES", 1000)
    assert "zip bomb" in skipped(path)


def test_a_pdf_with_too_many_pages_or_too_much_text_is_skipped(tmp_path, monkeypatch):
    from fpdf import FPDF

    pdf = FPDF()
    for page in range(3):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(0, 10, f"Section {page + 1}: bring your residence booklet", new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "notice.pdf"
    pdf.output(str(path))
    assert skipped(path) is None
    monkeypatch.setattr(documents_module, "MAX_PDF_PAGES", 2)
    assert skipped(path) == "too many pages: 3 (more than 2)"
    monkeypatch.setattr(documents_module, "MAX_PDF_PAGES", 500)
    monkeypatch.setattr(limits, "MAX_DOCUMENT_CHARS", 60)
    assert "too much text: more than 60 characters" in skipped(path)


def test_a_3_mb_line_of_markdown_is_skipped_not_indexed_as_thousands_of_chunks(tmp_path):
    path = tmp_path / "dump.md"
    path.write_text("# 通知\n\n" + "办理居住证需要带身份证。" * 262_144, encoding="utf-8")  # one 3 MB line
    assert path.stat().st_size > 3 * limits.MB
    assert (
        skipped(path)
        == f"too much text: more than {limits.MAX_DOCUMENT_CHARS:,} characters (split it into documents)"
    )
    html = tmp_path / "dump.html"
    html.write_text(
        f"<html><body><p>{'办理居住证需要带身份证。' * 30_000}</p></body></html>", encoding="utf-8"
    )
    assert "too much text" in skipped(html)


# The peak is read from VmHWM, the high-water mark of this process's own memory: ru_maxrss would
# carry over the parent's (a test run with the model loaded) across fork and exec.
MEASURE = """
import json, re, sys
from pathlib import Path
from knowledge import load_sources
report = load_sources([Path(p) for p in sys.argv[1:]])
peak = re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)
print(json.dumps({"skipped": {f.path: f.skipped for f in report.files}, "peak_kb": int(peak)}))
"""


def _limit_memory() -> None:  # a safety net: a regression must not take the shared machine down
    resource.setrlimit(resource.RLIMIT_AS, (3 * GB, 3 * GB))


def test_the_bombs_are_skipped_within_1_gb_of_memory(tmp_path):
    bombs = [
        dimension_bomb(tmp_path / "dimension.xlsx"),
        huge_cell(tmp_path / "cell.xlsx"),
        tmp_path / "line.md",
    ]
    bombs[2].write_text("办理居住证" * 700_000, encoding="utf-8")
    assert bombs[0].stat().st_size < 8000 and bombs[1].stat().st_size < 2 * limits.MB
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *map(str, bombs)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        preexec_fn=_limit_memory,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    reasons = result["skipped"]
    assert f"more than {limits.MAX_SHEET_CELLS:,} cells" in reasons[str(bombs[0])]
    assert "unpacks to 300 MB" in reasons[str(bombs[1])]
    assert "too much text" in reasons[str(bombs[2])]
    assert result["peak_kb"] * 1024 < GB


@pytest.mark.parametrize(
    "cap",
    [
        "MAX_ZIP_XML_BYTES",
        "MAX_ZIP_TOTAL_BYTES",
        "MAX_SHEET_CELLS",
        "MAX_CELL_CHARS",
        "MAX_PDF_PAGES",
        "MAX_DOCUMENT_CHARS",
    ],
)
def test_every_cap_is_a_named_constant(cap):
    assert isinstance(getattr(limits, cap), int) and getattr(limits, cap) > 0
