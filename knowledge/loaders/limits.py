"""What one file may make an ingest do. A hostile or broken file (a zip bomb, a sheet that claims a
million rows, one cell of 300 MB, a 3 MB line of text) is skipped with its reason in the report,
before it can take the memory or the hours of the import. Every cap is per file."""

from __future__ import annotations

import zipfile
from pathlib import Path

from knowledge.loaders.base import SkipFile

MB = 2**20
# An XLSX or DOCX is a zip of XML parts, parsed whole (openpyxl reads the shared strings into one
# list). An FAQ sheet of 10,000 long answers is ~10 MB of XML and a 300-page DOCX ~5 MB; 32 MB
# leaves room and keeps parsing in the low hundreds of MB. The sizes are the zip's own headers,
# which zipfile enforces while unpacking (a part that unpacks to more fails its CRC check).
MAX_ZIP_XML_BYTES = 32 * MB
# Every part together, images included (python-docx holds each part in memory).
MAX_ZIP_TOTAL_BYTES = 256 * MB
# Cells of an FAQ sheet: 20,000 rows of 10 columns. The sheet's stated dimension is not trusted
# (a 1.7 KB file may claim A1:XFD1048576): the cells actually read are counted, empty rows too.
MAX_SHEET_CELLS = 200_000
# Characters in one cell: Excel's own limit, so any real sheet fits.
MAX_CELL_CHARS = 32_767
# Pages of a PDF: a guide or a notice has tens; a compilation of hundreds is no one document.
MAX_PDF_PAGES = 500
# Characters of text one document file (Markdown, HTML, PDF, DOCX) may give: ~150 pages of Chinese,
# ~750 chunks. A long notice has ~20,000; more is a dump to split, not a document to index whole.
MAX_DOCUMENT_CHARS = 300_000


def _size(n: int) -> str:
    return f"{n / MB:,.0f} MB" if n >= MB else f"{n:,} bytes"


def check_zip(path: Path, label: str) -> None:
    """Refuse an XLSX/DOCX whose parts would unpack beyond the caps, before any parser opens it."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise SkipFile(f"unreadable {label}: {exc.__class__.__name__}") from exc
    for part in parts:
        if part.filename.endswith((".xml", ".rels")) and part.file_size > MAX_ZIP_XML_BYTES:
            raise SkipFile(
                f"{part.filename} unpacks to {_size(part.file_size)} "
                f"(more than {_size(MAX_ZIP_XML_BYTES)} per part: a zip bomb?)"
            )
    total = sum(part.file_size for part in parts)
    if total > MAX_ZIP_TOTAL_BYTES:
        raise SkipFile(f"unpacks to {_size(total)} (more than {_size(MAX_ZIP_TOTAL_BYTES)}: a zip bomb?)")


def check_document_chars(chars: int) -> None:
    if chars > MAX_DOCUMENT_CHARS:
        raise SkipFile(
            f"too much text: more than {MAX_DOCUMENT_CHARS:,} characters (split it into documents)"
        )
