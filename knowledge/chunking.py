"""Split sources into searchable chunks: one per guide section, passages of documents, FAQ rows.

Every chunk starts with the title of its source, so a section ("申请材料：…") is never searched
without knowing which item it belongs to.
"""

from __future__ import annotations

import re

from langchain_text_splitters import RecursiveCharacterTextSplitter

from knowledge.models import Chunk, Document, FaqRow, Guide, Material, Source

CHUNKER_VERSION = 5  # part of every content hash: bump to rebuild every index (5: HNSW ef_search)
SECTIONS = ("overview", "conditions", "materials", "process", "place", "faq", "text")
SECTION_LABELS = {
    "overview": "概况",
    "conditions": "受理条件",
    "materials": "申请材料",
    "process": "办理流程与时限",
    "place": "办理地点",
    "faq": "常见问题",
    "text": "正文",
}

_splitter = RecursiveCharacterTextSplitter(
    chunk_size=400,
    chunk_overlap=60,
    separators=["\n\n", "\n", "。", "；", "，", " ", ""],
    keep_separator="end",
)


def days_text(days: int | None) -> str | None:
    if days is None:
        return None
    return "即办（当场办结）" if days == 0 else f"{days}个工作日"


def material_line(m: Material, note: bool = True, details: bool = True) -> str:
    """One material on a line: name (form, copies)〔flags〕：note — without the note or the form and
    copies when an answer must be short."""
    shown = [d for d in (m.form, f"{m.copies}份" if m.copies else None) if d and details]
    flags = []
    if not m.required:
        flags.append("特定情形提交")
    if m.tolerable:
        flags.append("可容缺后补")
    if m.promise:
        flags.append("可告知承诺")
    line = m.name
    if shown:
        line += f"（{'，'.join(shown)}）"
    if flags:
        line += f"〔{'，'.join(flags)}〕"
    if m.note and note:
        line += f"：{m.note}"
    return line


def _guide_chunks(g: Guide) -> list[tuple[str, str]]:
    head = g.name + (f"（又称：{'、'.join(g.aliases)}）" if g.aliases else "")
    overview = [head]
    # Only what tells items apart goes into the index; long low-information fields (audience
    # lists, URLs, channel lists) cost embedding time and blur the vectors. The assistant reads
    # every field from the guide itself.
    for label, value in (
        ("主题分类", g.category),
        ("事项类型", g.type),
        ("实施主体", g.department),
        ("通办范围", g.scope if g.scope and "通办" in g.scope else None),
    ):
        if value:
            overview.append(f"{label}：{value}")
    if g.bundle:
        overview.append(f"一件事套餐，合并办理{len(g.bundle)}个事项")
    if g.promise:
        overview.append("支持告知承诺制")
    sections = [("overview", "\n".join(overview))]
    if g.conditions:
        sections.append(("conditions", f"{g.name}\n受理条件：\n" + "\n".join(g.conditions)))
    if g.materials:
        sections.append(
            ("materials", f"{g.name}\n申请材料：\n" + "\n".join(material_line(m) for m in g.materials))
        )
    process = []
    if g.steps:
        process.append("办理流程：" + " → ".join(g.steps))
    if (t := days_text(g.promised_days)) is not None:
        process.append(f"承诺办结时限：{t}")
    if (t := days_text(g.legal_days)) is not None:
        process.append(f"法定办结时限：{t}")
    if g.fee:
        process.append(f"收费标准：{g.fee}")
    if g.visits is not None:
        process.append("到现场次数：" + ("0次（全程网办）" if g.visits == 0 else f"{g.visits}次"))
    if g.online_url:
        process.append("可网上办理")
    if process:
        sections.append(("process", f"{g.name}\n" + "\n".join(process)))
    place = [
        f"{label}：{value}"
        for label, value in (("办理窗口", g.window), ("办公时间", g.hours), ("咨询电话", g.phone))
        if value
    ]
    if place:
        sections.append(("place", f"{g.name}\n" + "\n".join(place)))
    if g.faq:
        sections.append(("faq", f"{g.name}\n" + "\n".join(f"问：{p.q}\n答：{p.a}" for p in g.faq)))
    # a long section is split so that each passage fits the embedding model comfortably
    out = []
    for section, text in sections:
        if len(text) <= _splitter._chunk_size:
            out.append((section, text))
        else:
            out.extend(
                (section, part if i == 0 else f"{g.name}\n{part}")
                for i, part in enumerate(_splitter.split_text(text))
            )
    return out


_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.M)


def _document_chunks(d: Document) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    pieces = _HEADING.split(d.text)
    # pieces = [before-first-heading, heading1, body1, heading2, body2, ...]
    blocks = [("", pieces[0])] + [(pieces[i], pieces[i + 1]) for i in range(1, len(pieces) - 1, 2)]
    for heading, body in blocks:
        body = body.strip()
        if not body and not heading:
            continue
        for passage in _splitter.split_text(body) or [""]:
            label = f"{d.title} · {heading}" if heading else d.title
            parts.append(("text", f"{label}\n{passage}".strip()))
    return parts


def _faq_chunks(f: FaqRow) -> list[tuple[str, str]]:
    return [("faq", f"问：{f.question}\n答：{f.answer}")]


def chunk_source(source: Source) -> list[Chunk]:
    if source.guide is not None:
        parts = _guide_chunks(source.guide)
    elif source.document is not None:
        parts = _document_chunks(source.document)
    elif source.faq is not None:
        parts = _faq_chunks(source.faq)
    else:  # pragma: no cover - a Source always carries one record
        parts = []
    return [
        Chunk(
            id=f"{source.id}#{i}",
            source_id=source.id,
            kind=source.kind,
            title=source.title,
            section=section,
            text=text,
        )
        for i, (section, text) in enumerate(parts)
    ]
