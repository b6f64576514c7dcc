"""Composing answers from the guides' own fields — no model writes facts.

An answer leads with what was asked (materials, time, fee, …), then gives a short 一次性告知
summary of the rest, the online link and how to book. Documents and FAQ rows are quoted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from assistant.aspects import GENERAL, aspects
from assistant.declines import HANDOFF_WINDOW, HOTLINE, DeclineReason, decline_texts
from assistant.thresholds import (
    DOCUMENT_PASSAGE_CHARS,
    FAQ_MATCH_SHARE,
    FAQ_QUESTION_WEIGHT,
    MIN_SHARED_PAIRS,
    NOTICE_CONDITIONS,
    NOTICE_MATERIALS,
    NOTICE_STEPS,
    QUOTE_MAX_CHARS,
    QUOTE_MIN_CHARS,
    QUOTED_SENTENCES,
)
from knowledge.chunking import days_text, material_line
from knowledge.models import Guide, Hit, Source
from knowledge.text import normalise

EN_LABELS = {name: aspect.label_en for name, aspect in aspects().items()}  # how English answers head it


@dataclass(frozen=True)
class Part:
    """A piece of an answer. ``keep`` parts always show — in their ``short`` form when the whole
    answer would not fit otherwise, the least important (highest ``rank``) shortened first; the
    others show while room is left, best (lowest ``rank``) first. Parts keep their order in the
    text."""

    text: str
    keep: bool = False
    short: str | None = None
    rank: int = 0


def fit(parts: Sequence[Part], budget: int | None) -> str:
    """The parts that fit in ``budget`` characters (all of them, full, with no budget)."""
    parts = [p for p in parts if p.text]
    if budget is None:
        return "\n".join(p.text for p in parts)
    chosen = {i: p.text for i, p in enumerate(parts) if p.keep}

    def used() -> int:
        return sum(len(t) + 1 for t in chosen.values())

    # the kept part that matters least (highest rank), then the longest, gives way first
    for i in sorted(chosen, key=lambda i: (-parts[i].rank, -len(parts[i].text))):
        if used() <= budget:
            break
        if parts[i].short is not None:
            chosen[i] = parts[i].short
    optional = [i for i, p in enumerate(parts) if not p.keep]
    for i in sorted(optional, key=lambda i: parts[i].rank):
        for form in (parts[i].text, parts[i].short):
            if form and used() + len(form) + 1 <= budget:
                chosen[i] = form
                break
    return "\n".join(chosen[i] for i in sorted(chosen))


# The parts of an answer, most important first: what answers the very question (the guide's own FAQ
# pair, its sentences that echo the question) before the asked section, the rest after.
RANK_FAQ, RANK_EVIDENCE, RANK_SECTION, RANK_NOTICE, RANK_MORE = range(5)


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


def _one_time_notice(g: Guide, asked: set[str]) -> Part | None:
    """一次性告知: the rest of what a visitor needs, in one line (without the online link when
    short: the guide's page has it)."""
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
    online = [f"网办：{g.online_url}"] if "online" not in asked and g.online_url else []
    if not parts and not online:
        return None
    full = "一次性告知：" + "；".join(parts + online) + "。"
    short = "一次性告知：" + "；".join(parts) + "。" if parts else None
    return Part(full, short=short, rank=RANK_NOTICE)


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


def guide_parts(
    g: Guide,
    aspect: str,
    bundle_names: list[str] | None = None,
    matched: Hit | None = None,
    question: str = "",
    also: Sequence[str] = (),
) -> list[Part]:
    """The answer from one guide, in parts (``fit`` them to a budget, or with none for all)."""
    parts = _guide_body(g, aspect, bundle_names, also, question)
    # what the answer shows however short it gets: a material's note that answers the question is
    # quoted, since a short answer lists the materials without their notes
    text = "\n".join(p.short if p.short is not None else p.text for p in parts if p.keep)
    faq = matching_faq(g, question) if question else None
    if faq and faq not in text:  # the guide's own answer to this very question
        question_line, _, answer = faq.partition("\n")  # shortened, the answer stays
        short = f"常见问题：\n{question_line}\n{clip_text(answer, QUOTE_MAX_CHARS)}"
        parts.append(Part(f"常见问题：\n{faq}", keep=True, short=short, rank=RANK_FAQ))
        text += "\n" + faq
    if (
        matched is not None
        and matched.section not in ("overview", "faq" if faq else "")
        and not any(matched.section in SHOWN.get(a, set()) for a in (aspect, *also))
    ):
        passage = _passage(matched)  # the part of the guide the search found the question in
        parts.append(
            Part(
                f"指南中与您的问题最相关的内容：\n{passage}",
                keep=True,
                short=f"指南中与您的问题最相关的内容：\n{clip_text(passage, QUOTE_MAX_CHARS)}",
                rank=RANK_SECTION,
            )
        )
        text += "\n" + passage
    if question and (quoted := evidence(_guide_sentences(g), g.name, question, text, {aspect, *also})):
        parts.append(_evidence_part("指南原文还写明：", quoted))
    return parts


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


def _topic_pairs(question: str, title: str) -> set[str]:
    """The question's character pairs that carry a topic beyond the source's title."""
    return {
        pair
        for pair in _bigrams(question) - _bigrams(title)
        if not (pair[0] in _FUNCTION_CHARS and pair[1] in _FUNCTION_CHARS) and all(c.strip() for c in pair)
    }


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
    asked = _topic_pairs(question, title)
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


def _guide_body(
    g: Guide,
    aspect: str,
    bundle_names: list[str] | None = None,
    also: Sequence[str] = (),
    question: str = "",
) -> list[Part]:
    parts = [Part(f"【{g.name}】", keep=True)]
    if g.bundle:
        names = "、".join(bundle_names or g.bundle)
        parts.append(
            Part(f"这是“一件事”套餐：一张表单、一个窗口，合并办理{len(g.bundle)}个事项：{names}。", keep=True)
        )
    if aspect == GENERAL:  # "how do I do X": whether one can, then what to bring, how long, how much, where
        head = [g.department, g.type, g.scope if g.scope and "通办" in g.scope else None]
        if any(head):
            parts.append(Part("（" + "，".join(h for h in head if h) + "）", rank=RANK_MORE))
        if g.conditions:
            conditions = "受理条件：" + "；".join(g.conditions) + "。"
            parts.append(Part(conditions, keep=True, short=_first_conditions(g), rank=RANK_SECTION))
        materials = _section_part(g, "materials", question)
        parts.append(Part(materials.text, keep=True, short=materials.short, rank=RANK_NOTICE))
        parts += [Part(line, keep=True, rank=RANK_SECTION) for line in _time(g) + _fee(g)]
        parts.append(Part("\n".join(_where(g)), keep=True, short=_where(g)[0], rank=RANK_NOTICE))
        if g.steps:
            first = " → ".join(g.steps[:NOTICE_STEPS]) + (" → …" if len(g.steps) > NOTICE_STEPS else "")
            parts.append(Part("\n".join(_steps(g)), keep=True, short=f"办理流程：{first}", rank=RANK_NOTICE))
        if g.online_url:
            parts.append(Part("\n".join(_online(g)), rank=RANK_NOTICE))
        if g.promise:
            parts.append(Part("本事项实行告知承诺制，部分证明可用承诺书代替。", rank=RANK_MORE))
        return parts
    parts.append(_section_part(g, aspect, question))
    shown = SECTION[aspect](g)
    for extra in also:  # further aspects the question asks about, each once
        section = SECTION.get(extra)
        if section is not None and section is not SECTION[aspect]:
            lines = [line for line in section(g) if line not in shown]
            shown += lines
            parts.append(Part("\n".join(lines), keep=True, rank=RANK_SECTION))
    notice = _one_time_notice(g, {aspect, *also})
    if notice:
        parts.append(notice)
    return parts


def _section_part(g: Guide, aspect: str, question: str = "") -> Part:
    """The asked aspect's part, with a shorter form where one exists: the materials without the
    notes the question does not speak to ("要登报吗" keeps "无需自行登报"), the first conditions."""
    lines = SECTION[aspect](g)
    short = None
    if SECTION[aspect] is _materials and g.materials:
        asked = _topic_pairs(question, g.name) if question else set()
        short = "需要准备的材料：\n" + "\n".join(
            f"{i}. {material_line(m, note=bool(m.note and asked & _bigrams(m.note)), details=False)}"
            for i, m in enumerate(g.materials, start=1)
        )
    elif SECTION[aspect] is _conditions and g.conditions:
        short = _first_conditions(g)
    return Part("\n".join(lines), keep=True, short=short, rank=RANK_SECTION)


def _first_conditions(g: Guide) -> str:
    shown = g.conditions[:NOTICE_CONDITIONS]
    more = "等" if len(g.conditions) > NOTICE_CONDITIONS else ""
    return "受理条件：" + "；".join(shown) + more + "。"


def _evidence_part(label: str, quoted: list[str]) -> Part:
    """The source's own sentences that answer the question: always shown, the first alone if short."""
    return Part(
        label + "；".join(quoted) + "。", keep=True, short=f"{label}{quoted[0]}。", rank=RANK_EVIDENCE
    )


def _passage(hit: Hit) -> str:
    """The matched passage without the title line the chunker put in front of it."""
    text = hit.text
    first, _, rest = text.partition("\n")
    return rest.strip() if rest.strip() and hit.title in first else text.strip()


def source_parts(
    source: Source,
    hit: Hit | None,
    aspect: str,
    bundle_names: list[str] | None = None,
    question: str = "",
    also: Sequence[str] = (),
    linked: Guide | None = None,
) -> list[Part]:
    """The answer from one source, in parts; ``linked`` is the guide an FAQ row belongs to."""
    if source.guide is not None:
        return guide_parts(source.guide, aspect, bundle_names, hit, question, also)
    if source.faq is not None:
        parts = [Part(f"{source.faq.answer}\n（摘自常见问题：{source.faq.question}）", keep=True)]
        shown = source.faq.answer
        if (
            linked is not None
            and question
            and (quoted := evidence(_guide_sentences(linked), linked.name, question, shown, {aspect, *also}))
        ):
            parts.append(_evidence_part(f"《{linked.name}》指南还写明：", quoted))
        return parts
    doc = source.document
    assert doc is not None
    passage = _passage(hit) if hit is not None and hit.id == source.id else doc.text[:DOCUMENT_PASSAGE_CHARS]
    parts = [Part(passage, keep=True, short=clip_text(passage, DOCUMENT_PASSAGE_CHARS // 2))]
    sentences = _sentences(doc.text.split("\n"))
    if question and (quoted := evidence(sentences, doc.title, question, passage, {aspect, *also})):
        parts.append(_evidence_part("文中还写明：", quoted))
    parts.append(Part(f"（摘自《{doc.title}》）", keep=True))
    return parts


def clip_text(text: str, limit: int) -> str:
    """``text`` cut at the last sentence end within ``limit`` characters (or at ``limit``)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(mark) for mark in "。；！？\n")
    return cut[: end + 1] if end >= limit // 2 else cut[: limit - 1] + "…"


def english_frame(answer: str, title: str, aspect: str) -> str:
    label = EN_LABELS.get(aspect, EN_LABELS[GENERAL])
    return (
        f'From the official service guide "{title}". {label} (in Chinese, as the guide says):\n{answer}\n'
        f"Help in English: call {HOTLINE} or ask at the {HANDOFF_WINDOW} (assisted-service window)."
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
