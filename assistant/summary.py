"""The short answer first: a ``summary`` of at most ``SUMMARY_CHARS`` that answers what was asked
("需要3样材料，承诺1个工作日办结，不收费"), and the guide as ``blocks`` a phone or kiosk can show one by one
(materials, conditions, time, fee, where, steps, online, faq, notice). Both are composed from the
guide's own fields, like the answer."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from assistant.aspects import GENERAL
from assistant.thresholds import SUMMARY_CHARS
from knowledge.chunking import days_text, material_line
from knowledge.models import Guide, Source


class Block(BaseModel):
    kind: str  # materials | conditions | time | fee | where | steps | online | faq | notice
    title: str
    items: list[str] = Field(default_factory=list)
    text: str = ""


def clip(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _free(fee: str | None) -> bool:
    """The fee's first clause says it is free and names no amount ("不收费（考试不收费）"; not
    "首次申领免收工本费；换领…20元" read whole, nor "每本120元")."""
    first = re.split(r"[；;]", fee or "", maxsplit=1)[0]
    return any(w in first for w in ("不收费", "免费", "免收", "无需缴费")) and not re.search(r"\d+元", first)


def _time_phrase(g: Guide) -> str | None:
    if g.promised_days == 0:
        return "当场办结"
    promised = days_text(g.promised_days)
    return f"承诺{promised}办结" if promised else None


def summarise(source: Source, aspect: str, place_note: str | None = None) -> str:
    """The direct answer to the asked aspect, in one short line."""
    g = source.guide
    if g is None:
        said = source.faq.answer if source.faq else (source.document.text if source.document else "")
        return clip(said.split("\n")[0].split("。")[0] + "。")
    parts: list[str] = []
    if aspect == "materials" or aspect == GENERAL:
        parts.append(f"需要{len(g.materials)}样材料" if g.materials else "材料请咨询窗口")
    if aspect in ("time", GENERAL) and (t := _time_phrase(g)):
        parts.append(t)
    if aspect in ("fee", GENERAL) and g.fee:
        parts.append("不收费" if _free(g.fee) else f"收费：{g.fee}")
    if aspect == "materials" and (t := _time_phrase(g)):
        parts.append(t)
    if aspect == "materials" and _free(g.fee):
        parts.append("不收费")
    if aspect == "online":
        parts.append(f"可网上办理：{g.online_url}" if g.online_url else "需到窗口办理")
    if aspect == "phone" and g.phone:
        parts.append(f"咨询电话：{g.phone}")
    if aspect == "conditions" and g.conditions:
        parts.append(g.conditions[0])
    if aspect == "steps" and g.steps:
        parts.append(f"共{len(g.steps)}步：" + "→".join(g.steps))
    if aspect in ("location", "hours", "booking") and not place_note:
        parts.append(g.window or g.hours or "办理地点请咨询12345")
    if place_note:  # at a doorplate, whether it is handled here comes first
        parts.insert(0, place_note.split("；")[0].rstrip("。"))
    return clip("，".join(parts) + "。" if parts else f"{g.name}。")


def blocks(source: Source) -> list[Block]:
    """The guide's parts as blocks, in the order a visitor needs them."""
    g = source.guide
    if g is None:
        if source.faq is not None:
            return [
                Block(
                    kind="faq",
                    title="常见问题",
                    items=[f"问：{source.faq.question}　答：{source.faq.answer}"],
                )
            ]
        return [
            Block(kind="notice", title=source.title, text=source.document.text if source.document else "")
        ]
    out: list[Block] = []
    if g.materials:
        out.append(
            Block(kind="materials", title="需要准备的材料", items=[material_line(m) for m in g.materials])
        )
    if g.conditions:
        out.append(Block(kind="conditions", title="受理条件", items=list(g.conditions)))
    limits = (("承诺", days_text(g.promised_days)), ("法定", days_text(g.legal_days)))
    times = [f"{label}{days}" for label, days in limits if days]
    if times:
        out.append(Block(kind="time", title="办理时限", text="；".join(times)))
    if g.fee:
        out.append(Block(kind="fee", title="收费", text=g.fee))
    where = [
        f"{label}：{value}"
        for label, value in (("窗口", g.window), ("时间", g.hours), ("电话", g.phone))
        if value
    ]
    if where:
        out.append(Block(kind="where", title="在哪里办", items=where))
    if g.steps:
        out.append(Block(kind="steps", title="办理流程", items=list(g.steps)))
    if g.online_url:
        out.append(Block(kind="online", title="网上办理", text=g.online_url))
    if g.faq:
        out.append(Block(kind="faq", title="常见问题", items=[f"问：{p.q}　答：{p.a}" for p in g.faq]))
    return out
