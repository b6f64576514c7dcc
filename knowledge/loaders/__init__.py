"""Turn files and folders into sources. One module per source kind; the kind is chosen by the
file's extension and, for structured files, by sniffing its content (a provincial export looks
different from our guide schema). Nothing here aborts on a bad file: it is reported instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.loaders.base import Loaded, SkipFile
from knowledge.loaders.documents import load_docx, load_html, load_pdf
from knowledge.loaders.encoding import UndecodableError, decode_bytes
from knowledge.loaders.faq_sheet import load_csv, load_xlsx
from knowledge.loaders.guangdong import is_guangdong_record, load_guangdong
from knowledge.loaders.guides import load_guides, parse_structured
from knowledge.loaders.markdown import load_markdown
from knowledge.models import Source

SUPPORTED = (
    ".yaml",
    ".yml",
    ".json",
    ".jsonl",
    ".md",
    ".markdown",
    ".csv",
    ".xlsx",
    ".html",
    ".htm",
    ".pdf",
    ".docx",
)
MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclass
class FileResult:
    path: str
    kind: str = ""
    sources: int = 0
    skipped: str | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    sources: list[Source] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)

    @property
    def skipped(self) -> list[FileResult]:
        return [f for f in self.files if f.skipped]

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [(f.path, e) for f in self.files for e in f.errors]

    @property
    def warnings(self) -> list[tuple[str, str]]:
        return [(f.path, w) for f in self.files for w in f.warnings]

    @property
    def ok(self) -> bool:
        return not self.skipped and not self.errors

    def sources_per_kind(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for f in self.files:
            if f.sources:
                counts[f.kind] += f.sources
        return dict(counts)


def _read_text(path: Path) -> str:
    try:
        return decode_bytes(path.read_bytes())
    except UndecodableError as exc:
        raise SkipFile(str(exc)) from exc


def load_file(path: Path) -> Loaded:
    """Load one file, raising SkipFile with a reason when it cannot be used at all."""
    suffix = path.suffix.lower()
    if path.name.startswith((".", "~$")):
        raise SkipFile("hidden or temporary file")
    if suffix not in SUPPORTED:
        raise SkipFile(f"unsupported file type '{suffix or path.name}'")
    size = path.stat().st_size
    if size == 0:
        raise SkipFile("empty file")
    if size > MAX_FILE_BYTES:
        raise SkipFile(f"file too large ({size / 2**20:.0f} MB > {MAX_FILE_BYTES / 2**20:.0f} MB)")
    if suffix == ".pdf":
        return load_pdf(path)
    if suffix == ".docx":
        return load_docx(path)
    if suffix == ".xlsx":
        return load_xlsx(path)
    text = _read_text(path)
    if not text.strip():
        raise SkipFile("empty file")
    if suffix in (".md", ".markdown"):
        return load_markdown(text, path)
    if suffix == ".csv":
        return load_csv(text, path)
    if suffix in (".html", ".htm"):
        return load_html(text, path)
    data = parse_structured(text, ".yaml" if suffix == ".yml" else suffix)
    records = data if isinstance(data, list) else [data]
    if records and is_guangdong_record(records[0]):
        return load_guangdong(records, str(path))
    return load_guides(data, str(path))


def iter_files(paths: Iterable[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def load_sources(paths: Iterable[Path], progress: Callable[[Path], None] | None = None) -> LoadReport:
    """Load every file under ``paths``. When files share an id, the one kept does not depend on the
    order they were given in: a file read without errors before one with errors, then the first by
    sorted path; the others are reported as errors naming both files."""
    report = LoadReport()
    loaded_files: list[tuple[FileResult, Loaded]] = []
    for path in iter_files(paths):
        if progress:
            progress(path)
        result = FileResult(path=str(path))
        report.files.append(result)
        if not path.exists():
            result.skipped = "no such file"
            continue
        try:
            loaded = load_file(path)
        except SkipFile as exc:
            result.skipped = str(exc)
            continue
        except Exception as exc:  # a loader bug or an exotic file must not stop the import
            result.skipped = f"could not be read ({exc.__class__.__name__}: {exc})"
            continue
        result.kind = loaded.kind
        result.warnings = loaded.warnings
        result.errors = list(loaded.errors)
        loaded_files.append((result, loaded))

    # a malformed file never displaces a clean one; among equals, the first by path
    def rank(result: FileResult) -> tuple[bool, str]:
        return (bool(result.errors), result.path)

    kept: dict[str, FileResult] = {}
    for result, loaded in sorted(loaded_files, key=lambda rl: rank(rl[0])):
        for source in loaded.sources:
            kept.setdefault(source.id, result)
    added: set[str] = set()
    for result, loaded in loaded_files:
        for source in loaded.sources:
            winner = kept[source.id]
            if winner is not result or source.id in added:
                where = "earlier in this file" if winner is result else f"in {winner.path}"
                result.errors.append(f"duplicate id {source.id}: also defined {where}; kept that one")
                continue
            added.add(source.id)
            report.sources.append(source)
            result.sources += 1
    return report
