"""Documents exported from a portal or an office suite: HTML, PDF, DOCX.

Only the text is kept; page chrome (navigation, headers, footers, scripts, repeated PDF page
headers) is dropped. Headings become ``## `` lines so the chunker can split by section.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from knowledge.loaders.base import Loaded, SkipFile
from knowledge.loaders.limits import MAX_PDF_PAGES, check_document_chars, check_zip
from knowledge.models import Document, Source

_CHROME_TAGS = [
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "svg",
    "button",
]
_CHROME_HINT = re.compile(
    r"(^|[-_ ])(nav|menu|breadcrumb|footer|header|sidebar|topbar|share|copyright)([-_ ]|$)", re.I
)
_BLANKS = re.compile(r"\n{3,}")


def _document(path: Path, title: str, text: str, kind: str) -> Loaded:
    text = _BLANKS.sub("\n\n", text).strip()
    check_document_chars(len(text))
    if len(text) < 2:
        raise SkipFile("no text could be extracted")
    doc = Document(id=path.stem, title=title.strip() or path.stem, text=text)
    return Loaded(
        kind=kind, sources=[Source(id=doc.id, kind="document", title=doc.title, path=str(path), document=doc)]
    )


def load_html(text: str, path: Path) -> Loaded:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_CHROME_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.attrs is None:  # removed together with an ancestor
            continue
        marker = " ".join([tag.get("id") or "", *(tag.get("class") or [])])
        if marker.strip() and _CHROME_HINT.search(marker):
            tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    h1 = root.find("h1")
    if h1 is not None:
        title = h1.get_text(" ", strip=True) or title
    for level in ("h2", "h3", "h4"):
        for heading in root.find_all(level):
            heading.insert_before("\n## ")
            heading.insert_after("\n")
    for block in root.find_all(["p", "li", "tr", "div", "br", "h1"]):
        block.insert_after("\n")
    lines = [re.sub(r"[ \t\u3000\xa0]+", " ", line).strip() for line in root.get_text("").splitlines()]
    return _document(path, title, "\n".join(line for line in lines if line), "html")


def load_pdf(path: Path) -> Loaded:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise SkipFile(f"too many pages: {len(reader.pages):,} (more than {MAX_PDF_PAGES})")
        pages: list[str] = []
        chars = 0
        for page in reader.pages:  # counted as extracted: a page can hold a great deal of text
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            check_document_chars(chars)
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise SkipFile(f"unreadable PDF: {exc}") from exc
    page_lines = [[line.strip() for line in page.splitlines() if line.strip()] for page in pages]
    repeated: set[str] = set()
    if len(page_lines) >= 3:
        counts = Counter(line for lines in page_lines for line in set(lines))
        repeated = {line for line, n in counts.items() if n >= max(3, len(page_lines) * 0.6)}
    kept = [
        line
        for lines in page_lines
        for line in lines
        if line not in repeated and not re.fullmatch(r"[-—\s]*\d+[-—\s]*", line)
    ]
    if not kept:
        raise SkipFile("PDF has no text layer (a scan?)")
    title = meta_title or kept[0][:60]
    return _document(path, title, "\n".join(kept), "pdf")


def load_docx(path: Path) -> Loaded:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_zip(path, "DOCX")  # before python-docx unpacks anything
    try:
        d = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise SkipFile(f"unreadable DOCX: {exc}") from exc
    lines: list[str] = []
    title = (d.core_properties.title or "").strip()
    for para in d.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name or "").lower() if para.style is not None else ""
        if style == "title" or (style.startswith("heading 1") and not title):
            title = title or text
            lines.append(text)
        elif style.startswith("heading"):
            lines.append(f"## {text}")
        else:
            lines.append(text)
    for table in d.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                lines.append(" | ".join(dict.fromkeys(cells)))
    return _document(path, title or (lines[0][:60] if lines else path.stem), "\n".join(lines), "docx")
