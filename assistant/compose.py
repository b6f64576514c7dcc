"""Composing answers from the guides' own fields — no model writes facts.

An answer leads with what was asked (materials, time, fee, …), then gives a short 一次性告知
summary of the rest, the online link and how to book. Documents and FAQ rows are quoted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from assistant.aspects import GENERAL, aspects
from assistant.declines import HANDOFF_WINDOW, HOTLINE, DeclineReason, decline_texts
from assistant.thresholds import (
    DOCUMENT_PASSAGE_CHARS,
    FAQ_MATCH_SHARE,
    FAQ_QUESTION_WEIGHT,
    MIN_SHARED_PAIRS,
    NOTICE_MATERIALS,
    QUOTE_MAX_CHARS,
    QUOTE_MIN_CHARS,
    QUOTED_SENTENCES,
)
from knowledge.chunking import days_text, material_line
from knowledge.models import Guide, Hit, Source
from knowledge.text import normalise

EN_LABELS = {name: aspect.label_en for name, aspect in aspects().items()}  # how English answers head it


def _materials(g: Guide) -> list[str]:
    if not g.materials:
        return ["申请材料：指南未列明，请咨询窗口。"]
    lines = ["需要准备的材料："]
    lines += [f"{i}. {material_line(m)}" for i, m in enumerate(g.materials, start=1)]
    notes = []
    if any(m.tolerable for m in g.materials):
        notes.append("标“可容缺后补”的材料缺了也可先受理，之后补交（容缺受理）")
    if any(m.promise for m in g.materials):
        notes.append("标“可告知承诺”的材料可签署告知承诺书代替")
    if any(not m.required for m in g.materials):
        notes.append("标“特定情形提交”的材料仅在相应情形下需要")
    if notes:
        lines.append("说明：" + "；".join(notes) + "。")
    return lines


def _time(g: Guide) -> list[str]:
    promised, legal = days_text(g.promised_days), days_text(g.legal_days)
    if promised is None and legal is None:
        return ["办理时限：指南未列明，请咨询窗口。"]
    parts = []
    if promised is not None:
        parts.append(f"承诺办结时限：{promised}")
    if legal is not None:
        parts.append(f"法定办结时限：{legal}")
    line = "；".join(parts) + "。"
    if g.visits is not None:
        line += "全程网办，不用跑现场。" if g.visits == 0 else f"最多跑{g.visits}次。"
    return [line]


def _fee(g: Guide) -> list[str]:
    return [f"收费标准：{g.fee}。" if g.fee else "收费标准：指南未列明，请咨询窗口。"]


def _where(g: Guide) -> list[str]:
    lines = []
    if g.window:
        lines.append(f"办理窗口：{g.window}")
    if g.hours:
        lines.append(f"办公时间：{g.hours}")
    if g.phone:
        lines.append(f"咨询电话：{g.phone}")
    return lines or [f"办理地点：指南未列明，请拨打{HOTLINE}咨询。"]


def _online(g: Guide) -> list[str]:
    if g.online_url:
        line = f"可以网上办理：{g.online_url}"
        if g.visits == 0:
            line += "（全程网办，不用跑现场）"
        return [line]
    return ["这个事项指南里没有网上办理入口，需要到窗口办理。"]


def _conditions(g: Guide) -> list[str]:
    if not g.conditions:
        return ["受理条件：指南未列明特别条件。"]
    return ["受理条件：", *[f"- {c}" for c in g.conditions]]


def _steps(g: Guide) -> list[str]:
    return ["办理流程：" + " → ".join(g.steps)] if g.steps else ["办理流程：指南未列明，请咨询窗口。"]


def _booking(g: Guide) -> list[str]:
    how = f"请致电{g.phone}" if g.phone else f"请拨打{HOTLINE}"
    return [f"预约办理：{how}咨询预约方式；到场时请带齐材料。"]


# The part of a guide that answers each aspect (data/aspects.yaml names it); "general" is composed
# from all of them.
_ANSWERS = {
    "materials": _materials,
    "conditions": _conditions,
    "time": _time,
    "fee": _fee,
    "where": _where,
    "steps": _steps,
    "online": _online,
    "booking": _booking,
}
SECTION = {name: _ANSWERS[aspect.answer] for name, aspect in aspects().items() if aspect.answer}


def _one_time_notice(g: Guide, asked: set[str]) -> str:
    """一次性告知: the rest of what a visitor needs, in one line."""
    parts = []
    if "materials" not in asked and g.materials:
        shown = g.materials[:NOTICE_MATERIALS]
        names = "、".join(m.name for m in shown) + ("等" if len(g.materials) > NOTICE_MATERIALS else "")
        parts.append(f"材料：{names}")
    if "time" not in asked and (t := days_text(g.promised_days)):
        parts.append(f"承诺时限{t}")
    if "fee" not in asked and g.fee:
        parts.append(f"收费：{g.fee}")
    if not asked & {"location", "hours", "phone"} and g.window:
        parts.append(f"窗口：{g.window}")
    if "online" not in asked and g.online_url:
        parts.append(f"网办：{g.online_url}")
    return "一次性告知：" + "；".join(parts) + "。" if parts else ""


# Which chunk sections an aspect's answer already shows in full.
SHOWN = {name: aspect.shows for name, aspect in aspects().items()}


def _bigrams(text: str) -> set[str]:
    text = normalise(text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


def matching_faq(g: Guide, question: str, threshold: float = FAQ_MATCH_SHARE) -> str | None:
    """The guide's own FAQ pair that asks what the question asks (share of the FAQ question's
    character pairs found in the question), if any."""
    asked = _bigrams(question)
    best, best_share = None, threshold
    for pair in g.faq:
        pairs = _bigrams(pair.q)
        share = len(pairs & asked) / len(pairs) if pairs else 0.0
        if share >= best_share:
            best, best_share = f"问：{pair.q}\n答：{pair.a}", share
    return best


def compose_guide(
    g: Guide,
    aspect: str,
    bundle_names: list[str] | None = None,
    matched: Hit | None = None,
    question: str = "",
    also: Sequence[str] = (),
) -> str:
    text = _compose_guide(g, aspect, bundle_names, also)
    faq = matching_faq(g, question) if question else None
    if faq and faq not in text:  # the guide's own answer to this very question comes first
        text += f"\n常见问题：\n{faq}"
    if (
        matched is not None
        and matched.section not in ("overview", "faq" if faq else "")
        and matched.section not in SHOWN.get(aspect, set())
    ):
        text += f"\n指南中与您的问题最相关的内容：\n{_passage(matched)}"
    if question and (quoted := evidence(_guide_sentences(g), g.name, question, text, {aspect, *also})):
        text += "\n指南原文还写明：" + "；".join(quoted) + "。"
    return text


# Characters that carry no topic on their own: a pair of them ("什么", "可以", "办理") says
# nothing about which sentence of a guide answers the question.
_FUNCTION_CHARS = set(
    "的了吗呢吧啊呀么是不要能可以会该怎什哪多少几个还有没都就也在和与或及我你他她它们这那些请问办理申需想去到给让把被从对为"
)


# A sentence a source could be quoted by, and what it is about beyond its own words: an FAQ
# answer ("可以延长缴费…") is about its question ("缴费不满15年怎么办？"), which the asker may echo.
Sentence = tuple[str, str]


def _sentences(texts: Iterable[str | None], about: str = "") -> list[Sentence]:
    sentences = []
    for text in texts:
        for piece in re.split(r"[。；;！!？?\n]", text or ""):
            piece = piece.strip(" ，,、：:-*#>")
            if QUOTE_MIN_CHARS <= len(piece) <= QUOTE_MAX_CHARS:
                sentences.append((piece, about))
    return sentences


def _guide_sentences(g: Guide) -> list[Sentence]:
    texts = [*g.conditions, *g.steps, *(m.note for m in g.materials if m.note), g.scope, g.window, g.hours]
    return _sentences(texts) + [s for pair in g.faq for s in _sentences([pair.a], about=pair.q)]


# What a sentence about an aspect looks like: a time question wants the sentences with a duration
# or a date in them, wherever the guide put them (a 公告期 in the conditions, 6月上旬 in the steps).
ASPECT_CUES = {name: aspect.cue for name, aspect in aspects().items() if aspect.cue is not None}


def evidence(
    sentences: list[Sentence],
    title: str,
    question: str,
    shown: str,
    asked_aspects: set[str] = frozenset(),
    limit: int = QUOTED_SENTENCES,
) -> list[str]:
    """The source's own sentences that answer the question and that the answer does not show yet:
    those sharing the most topic-bearing character pairs with the question (beyond the source's
    title), and those that speak to what was asked (a duration for a time question …)."""
    asked = {
        pair
        for pair in _bigrams(question) - _bigrams(title)
        if not (pair[0] in _FUNCTION_CHARS and pair[1] in _FUNCTION_CHARS) and all(c.strip() for c in pair)
    }
    cues = [ASPECT_CUES[a] for a in asked_aspects if a in ASPECT_CUES]
    if not asked and not cues:
        return []
    present = _squash(shown)
    scored = []
    for sentence, about in dict.fromkeys(sentences):
        squashed, own, context = _prepared(sentence, about)
        if squashed in present:
            continue
        said, echoed = len(asked & own), len(asked & context)
        on_aspect = any(cue.search(sentence) for cue in cues)
        if said + echoed >= MIN_SHARED_PAIRS or on_aspect:
            # what the sentence says itself counts fully, what its FAQ question says half
            scored.append((-(said + echoed * FAQ_QUESTION_WEIGHT + on_aspect), len(sentence), sentence))
    return [sentence for _, _, sentence in sorted(scored)[:limit]]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", normalise(text))


@lru_cache(maxsize=65_536)
def _prepared(sentence: str, about: str = "") -> tuple[str, frozenset[str], frozenset[str]]:
    """A guide sentence normalised once (the same guides are quoted again and again), with its
    character pairs and those only what it is about has."""
    own = _bigrams(sentence)
    return _squash(sentence), frozenset(own), frozenset(_bigrams(about) - own)


def _compose_guide(
    g: Guide, aspect: str, bundle_names: list[str] | None = None, also: Sequence[str] = ()
) -> str:
    lines = [f"【{g.name}】"]
    if g.bundle:
        names = "、".join(bundle_names or g.bundle)
        lines.append(f"这是“一件事”套餐：一张表单、一个窗口，合并办理{len(g.bundle)}个事项：{names}。")
    if aspect == GENERAL:
        head = [g.department, g.type, g.scope if g.scope and "通办" in g.scope else None]
        if any(head):
            lines.append("（" + "，".join(h for h in head if h) + "）")
        if g.conditions:
            lines.append("受理条件：" + "；".join(g.conditions) + "。")
        lines += _materials(g) + _time(g) + _fee(g) + _where(g)
        if g.steps:
            lines += _steps(g)
        if g.online_url:
            lines += _online(g)
        if g.promise:
            lines.append("本事项实行告知承诺制，部分证明可用承诺书代替。")
        return "\n".join(lines)
    lines += SECTION[aspect](g)
    for extra in also:  # further aspects the question asks about, each once
        section = SECTION.get(extra)
        if section is not None and section is not SECTION[aspect]:
            lines += [line for line in section(g) if line not in lines]
    notice = _one_time_notice(g, {aspect, *also})
    if notice:
        lines.append(notice)
    return "\n".join(lines)


def _passage(hit: Hit) -> str:
    """The matched passage without the title line the chunker put in front of it."""
    text = hit.text
    first, _, rest = text.partition("\n")
    return rest.strip() if rest.strip() and hit.title in first else text.strip()


def compose_source(
    source: Source,
    hit: Hit | None,
    aspect: str,
    bundle_names: list[str] | None = None,
    question: str = "",
    also: Sequence[str] = (),
    linked: Guide | None = None,
) -> str:
    """The answer text from one source; ``linked`` is the guide an FAQ row belongs to."""
    if source.guide is not None:
        return compose_guide(source.guide, aspect, bundle_names, hit, question, also)
    if source.faq is not None:
        text = f"{source.faq.answer}\n（摘自常见问题：{source.faq.question}）"
        shown = source.faq.answer
        if (
            linked is not None
            and question
            and (quoted := evidence(_guide_sentences(linked), linked.name, question, shown, {aspect, *also}))
        ):
            text += f"\n《{linked.name}》指南还写明：" + "；".join(quoted) + "。"
        return text
    doc = source.document
    assert doc is not None
    passage = _passage(hit) if hit is not None and hit.id == source.id else doc.text[:DOCUMENT_PASSAGE_CHARS]
    sentences = _sentences(doc.text.split("\n"))
    if question and (quoted := evidence(sentences, doc.title, question, passage, {aspect, *also})):
        passage += "\n文中还写明：" + "；".join(quoted) + "。"
    return f"{passage}\n（摘自《{doc.title}》）"


def english_frame(answer: str, title: str, aspect: str) -> str:
    label = EN_LABELS.get(aspect, EN_LABELS[GENERAL])
    return (
        f'Here is what the official service guide "{title}" says. {label} (quoted in Chinese, as in the guide):\n'
        f"{answer}\n"
        f"For help in English, call the {HOTLINE} hotline or ask at the {HANDOFF_WINDOW} (assisted-service window)."
    )


# The replies that decline, by reason (data/declines.yaml).
DECLINE_TEXT = {reason: text.zh for reason, text in decline_texts().items()}
DECLINE_EN = {reason: text.en for reason, text in decline_texts().items()}


def compose_decline(
    reason: DeclineReason,
    language: str,
    details: Mapping[str, str] | None = None,
    video_help: str | None = None,
    handoff: bool = True,
) -> str:
    """The polite refusal for ``reason``, naming what ``details`` holds (the region, the item …),
    and a person to turn to (not with ``handoff=False``: the opening of an ask-back)."""
    details = details or {}
    if language == "en":
        text = DECLINE_EN[reason].format_map(
            {"region": "that region", "asked": "this", "service": "", **details}
        )
        if not handoff:
            return text
        return (
            text
            + f" You can call the {HOTLINE} hotline or ask at the {HANDOFF_WINDOW} (assisted-service window)"
            + (f", or start a video call: {video_help}" if video_help else "")
            + "."
        )
    text = DECLINE_TEXT[reason].format_map({"region": "外地", "asked": "这件事", "service": "", **details})
    if handoff and decline_texts()[reason].handoff:
        text += f"您可以拨打{HOTLINE}政务服务便民热线，或到政务服务中心“{HANDOFF_WINDOW}”请工作人员帮忙"
        text += f"，也可以点此视频咨询：{video_help}。" if video_help else "。"
    return text


# Aspects whose answer is a line or two: a clarifying question gives it for every choice, so the
# citizen who asked "换领还是补领，要交多少钱" learns the fee of each while choosing.
BRIEF_ASPECTS = tuple(name for name, aspect in aspects().items() if aspect.brief)


def brief(g: Guide, aspect: str) -> str | None:
    """The asked aspect of one guide in a line, for a clarifying question (None if not brief)."""
    if aspect not in BRIEF_ASPECTS:
        return None
    lines = SECTION[aspect](g)
    if label := aspects()[aspect].brief_line:  # the one line of a several-line answer
        lines = [line for line in lines if line.startswith(label)]
    return "；".join(line.rstrip("。") for line in lines) or None


def compose_clarify(
    titles: list[str], language: str, briefs: Sequence[str | None] = (), preface: str | None = None
) -> str:
    """Which of ``titles`` is meant; ``preface`` opens it when none of them is what was asked."""
    briefs = list(briefs) + [None] * (len(titles) - len(briefs))
    numbered = "\n".join(
        f"{i}. {t}" + (f"（{b}）" if b else "")
        for i, (t, b) in enumerate(zip(titles, briefs, strict=False), start=1)
    )
    if language == "en":
        opening = f"{preface} Is it one of these?" if preface else "Which of these do you mean?"
        return f"{opening}\n{numbered}\nReply with the number."
    opening = f"{preface}您是要办以下哪一项？" if preface else "这几项容易混淆，您要办的是哪一项？"
    return f"{opening}\n{numbered}\n请回复序号或名称。"
