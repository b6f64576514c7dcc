"""The assistant: one question (with the conversation so far) in, one reply out.

    assistant = Assistant(kb, PlaceDirectory(places))
    reply = assistant.reply("开个体户要带啥", state=None)
    reply = assistant.reply("那要多久", state=reply.state)

It asks ``knowledge`` for candidates, ``policy`` for what to do, ``compose`` for the words.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from assistant.aspects import GENERAL, aspects
from assistant.compose import (
    RANK_MORE,
    Part,
    brief,
    compose_clarify,
    compose_decline,
    english_frame,
    fit,
    source_parts,
)
from assistant.coverage import CoverageIndex
from assistant.data_files import read_lines
from assistant.declines import HANDOFF_WINDOW, HOTLINE, DeclineReason
from assistant.llm import LLMRewriter, key_facts
from assistant.place_questions import about_the_place, answer_about
from assistant.policy import Case, Decision, asked_group_first, decide, prefer_named
from assistant.regions import foreign_region, regions_of
from assistant.smalltalk import small_talk_reply
from assistant.summary import Block, blocks, clip, summarise
from assistant.thresholds import (
    ANSWER_CHARS,
    CANDIDATE_WINDOW,
    CONTEXT_READING_WEIGHT,
    DENSE_SURE,
    GENERAL_ANSWER_CHARS,
    MERGED_SCORE_SCALE,
    PICK_MIN_SHARED,
    RANK_OFFSET,
    SEARCH_DEPTH,
    SHORT_FOLLOW_UP,
)
from assistant.understanding import (
    Understanding,
    chinese_terms,
    detect_aspects,
    is_follow_up,
    picked_choice,
    understand,
)
from halls.places import Place, PlaceDirectory
from halls.privacy import mask
from knowledge import KnowledgeBase
from knowledge.models import Hit, Source
from knowledge.text import normalise


class SourceRef(BaseModel):
    id: str
    title: str
    section: str


class ConversationState(BaseModel):
    """What a conversation remembers between turns (stored per session)."""

    focus: str | None = None  # the source id being discussed
    aspect: str | None = None
    choices: list[str] = Field(default_factory=list)  # ids offered in a clarifying question
    last_question: str | None = None


class Reply(BaseModel):
    answer: str
    sources: list[SourceRef] = Field(default_factory=list)
    ranked: list[str] = Field(default_factory=list)  # candidate ids, best first
    aspect: str = GENERAL
    declined: bool = False
    reason: DeclineReason | None = None  # reported as its string value
    handoff: dict | None = None
    choices: list[SourceRef] | None = None
    suggestions: list[str] = Field(default_factory=list)
    language: str = "zh"
    rewritten: bool = False  # True when the optional LLM rephrased the composed answer
    state: ConversationState = Field(default_factory=ConversationState)
    summary: str = ""  # the direct answer, short (an answer's from the guide; else the reply's opening)
    blocks: list[Block] = Field(default_factory=list)  # the guide's parts, for a phone or kiosk

    def model_post_init(self, _context: object) -> None:
        if not self.summary:
            self.summary = clip(re.split(r"(?<=[。？！?!])", self.answer.strip(), maxsplit=1)[0])


# The follow-up questions offered after an answer about each aspect (data/aspects.yaml), and the
# questions offered when there is nothing to follow up.
SUGGESTIONS = {name: list(aspect.suggestions) for name, aspect in aspects().items()}
DEFAULT_SUGGESTIONS = list(read_lines("starter_questions.txt"))


@dataclass
class Assistant:
    kb: KnowledgeBase
    directory: PlaceDirectory = field(default_factory=lambda: PlaceDirectory([]))
    search_depth: int = SEARCH_DEPTH
    rewriter: LLMRewriter | None = None  # the optional LLM; the composed answer is the fallback

    def __post_init__(self) -> None:
        self._local_regions: set[str] | None = None
        self._bundles: tuple[int, dict[str, list[str]]] | None = None
        self.coverage = CoverageIndex(self.kb)
        self._item_names: tuple[int, list[str]] | None = None

    def item_names(self) -> list[str]:
        """The names of the knowledge base's guides (what an LLM rewrite may not bring in)."""
        version = self.kb.version
        if self._item_names is None or self._item_names[0] != version:
            names = [s.title for s in self.kb.sources().values() if s.guide is not None]
            self._item_names = (version, names)
        return self._item_names[1]

    def bundles_with(self, source_id: str) -> list[str]:
        """Names of the "一件事" bundles that include an item (the reverse of ``Guide.bundle``)."""
        version = self.kb.version
        if self._bundles is None or self._bundles[0] != version:
            reverse: dict[str, list[str]] = {}
            for source in self.kb.sources().values():
                for part in source.guide.bundle if source.guide else []:
                    reverse.setdefault(part, []).append(source.title)
            self._bundles = (version, reverse)
        return self._bundles[1].get(source_id, [])

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait seconds for: the index, the embedding
        model, the word segmenter and the converters (a server calls this before it listens)."""
        self.reply("开个体户要带什么材料", rewrite=False)
        self.local_regions()

    # -- regions ---------------------------------------------------------------------------
    def local_regions(self) -> set[str]:
        """Names of the regions this knowledge base speaks for: those that name its departments
        ("广东省…厅", "广州市…局", "云川市公安局" — a region the gazetteer does not know is taken from
        the department's own name). Not addresses: "水口镇江湾村" contains 镇江 without being about it."""
        if self._local_regions is None:
            departments = {
                s.guide.department for s in self.kb.sources().values() if s.guide and s.guide.department
            }
            self._local_regions = regions_of(departments)
        return self._local_regions

    def foreign_region(self, text: str) -> str | None:
        """A region the question is about that this knowledge base does not cover, if any.

        Only a region that is the place of the rule counts ("北京的公积金", "上海办居住证",
        "在广州注册个体户"), not one merely mentioned ("在杭州工作", "去上海看病" is what 异地就医 is
        about) or travelled to ("去澳门的旅游签注"); and none when the question also names a local
        region.
        """
        return foreign_region(text, self.local_regions())

    # -- the turn --------------------------------------------------------------------------
    def reply(
        self,
        message: str,
        state: ConversationState | None = None,
        place: str | None = None,
        rewrite: bool = True,
    ) -> Reply:
        """The reply to ``message`` in a conversation at ``state``; ``rewrite=False``: never through
        the optional LLM (an earlier turn replayed only to rebuild the state)."""
        state = state.model_copy(deep=True) if state else ConversationState()
        message = self.kb.respell(message)  # 居住正 → 居住证: read as meant from the start
        u = understand(message)
        place_obj = self.directory.get(place)

        if state.choices:
            picked = self._pick(message, state)
            if picked is not None:
                source = self.kb.get(picked)
                if source is not None:
                    aspect = state.aspect or GENERAL
                    state.choices = []
                    return self._answer(source, None, aspect, u, state, [picked], place_obj, rewrite)
            state.choices = []

        # the rules that need no search (the guard) are asked first, before a follow-up is answered
        if (early := decide(Case(u.text, u.language))) is not None:
            if early.kind == "greet":
                return self._greet(early, u, state)
            return self._decline(early, u, state, place_obj)

        focus = self.kb.get(state.focus) if state.focus else None
        if place_obj is not None and focus is None:
            residual = u.residual if u.language == "zh" else ""
            if about_the_place(u, self.coverage.object_words(residual) if residual else ()):
                return self._about_place(place_obj, u, state)
        if focus is not None and state.last_question and is_follow_up(u):
            return self._follow_up(focus, message, u, state, place_obj, rewrite)  # no search needed
        # a short follow-up ("那养老保险呢") names its item together with the previous question
        short = len(u.residual) <= SHORT_FOLLOW_UP
        context = state.last_question if state.focus and state.last_question and short else ""
        hits = prefer_named(u.text, self._search(message, u, state), context)
        aspect = u.aspect
        if not u.aspect_explicit and state.focus and short and state.aspect:
            aspect = state.aspect  # "那离婚呢" after "结婚要带啥" asks about materials too
        if state.last_question and self._continues(u, hits):
            if focus is not None:
                return self._follow_up(focus, message, u, state, place_obj, rewrite)
            # the previous turn found nothing certain: read this one together with it
            hits = self.kb.search(f"{state.last_question} {message}", k=self.search_depth)
        region = self.foreign_region(u.text)
        if region and hits and self._speaks_of(hits[0].id, region):
            region = None  # the item itself is about that region ("香港的税收协定待遇" → 税收居民身份证明)
        items = [self._item_of(h) for h in hits[:CANDIDATE_WINDOW]]  # an FAQ row as the guide it is about
        if first := asked_group_first(u.text, items):
            hits = [hits[first], *hits[:first], *hits[first + 1 :]]
            items = [items[first], *items[:first], *items[first + 1 :]]
        residual = u.residual if u.language == "zh" else ""
        # acts, objects and groups are read in Chinese: an English question by the guides' words for
        # its government vocabulary ("lost" 遗失 补领, "foreigner" 外国人)
        read_as = u.text if u.language == "zh" else chinese_terms(message)
        gaps = self.coverage.gaps(read_as, residual or read_as, items) if read_as else []
        decision = decide(
            Case(
                u.text,
                u.language,
                hits,
                known_share=self.kb.known_share(u.residual or u.text),
                region=region,
                context=context,
                residual=residual,
                items=items,
                gaps=tuple(gaps),
                lookup_service=self._lookup_note(items, u.language),
            )
        )
        assert decision is not None  # searched: the last rule decides
        if decision.kind == "decline":
            reply = self._decline(decision, u, state, place_obj)
            reply.ranked = [h.id for h in hits]
            return reply
        if decision.kind == "clarify":
            return self._clarify(decision, u, aspect, state, hits)
        top = decision.choices[0] if decision.choices else hits[0]  # the sibling the question named
        source = self.kb.get(top.id)
        assert source is not None
        if (guide := self._guide_for_other_aspect(source, u)) is not None:
            source, top = guide, self.kb.best_passage(message, guide.id)
        ranked = [source.id, *[h.id for h in hits if h.id != source.id]]
        return self._answer(source, top, aspect, u, state, ranked, place_obj, rewrite)

    def item_id(self, source_id: str) -> str:
        """The item a source is about: an FAQ row's guide, else the source itself."""
        source = self.kb.get(source_id)
        guide_id = source.faq.guide_id if source is not None and source.faq is not None else None
        return guide_id if guide_id and self.kb.get(guide_id) is not None else source_id

    def _item_of(self, hit: Hit) -> Hit:
        """An FAQ row of a guide as that guide ("开个体户要带什么材料？" is about 个体工商户设立登记)."""
        item_id = self.item_id(hit.id)
        guide = self.kb.get(item_id) if item_id != hit.id else None
        if guide is None:
            return hit
        return hit.model_copy(update={"id": guide.id, "title": guide.title, "kind": "guide"})

    def _speaks_of(self, source_id: str, region: str) -> bool:
        return any(region in normalise(chunk.text) for chunk in self.kb.chunks_of(source_id))

    def _guide_for_other_aspect(self, source: Source, u: Understanding) -> Source | None:
        """An FAQ row about the right item but another aspect ("开个体户要带什么材料？" for "开个体户
        要多少钱？") does not answer the question; its guide does."""
        if source.faq is None or not source.faq.guide_id or not u.aspect_explicit:
            return None
        asked_there = detect_aspects(normalise(source.faq.question), u.language)
        if u.aspect in asked_there:
            return None
        return self.kb.get(source.faq.guide_id)

    def _follow_up(
        self,
        focus: Source,
        message: str,
        u: Understanding,
        state: ConversationState,
        place: Place | None,
        rewrite: bool = True,
    ) -> Reply:
        """ "那要多久？" — the item in focus, the aspect asked now (or the one asked before)."""
        aspect = u.aspect if u.aspect_explicit else (state.aspect or GENERAL)
        passage = self.kb.best_passage(message, focus.id)
        return self._answer(focus, passage, aspect, u, state, [focus.id], place, rewrite)

    def _continues(self, u: Understanding, hits: list[Hit]) -> bool:
        """Whether a question only continues the conversation: it names no item ("那要多久"), or
        nothing it could name is matched with confidence on its own ("审核要多长时间")."""
        if is_follow_up(u):
            return True
        return not hits or hits[0].dense < DENSE_SURE[u.language]

    def _search(self, message: str, u: Understanding, state: ConversationState) -> list[Hit]:
        if u.language == "en" and (terms := chinese_terms(message)):
            message = f"{message} {terms}"
        hits = self.kb.search(message, k=self.search_depth)
        if not (state.focus and state.last_question and len(u.residual) <= SHORT_FOLLOW_UP):
            return hits
        # a short question in a conversation ("那买房呢") is read both alone and in context
        context = self.kb.search(f"{state.last_question} {message}", k=self.search_depth)
        merged: dict[str, tuple[float, Hit]] = {}
        for weight, ranked in ((1.0, hits), (CONTEXT_READING_WEIGHT, context)):
            for rank, hit in enumerate(ranked):
                score = weight / (rank + RANK_OFFSET)
                prev = merged.get(hit.id)
                best = (
                    hit if prev is None or hit.dense > prev[1].dense else prev[1]
                )  # the better-evidenced reading
                merged[hit.id] = (score + (prev[0] if prev else 0.0), best)
        ordered = sorted(merged.values(), key=lambda pair: -pair[0])
        return [
            hit.model_copy(update={"score": round(math.log1p(score) * MERGED_SCORE_SCALE, 4)})
            for score, hit in ordered
        ]

    def _pick(self, message: str, state: ConversationState) -> str | None:
        index = picked_choice(message, len(state.choices))
        if index is not None:
            return state.choices[index]
        text = normalise(message)
        for sid in state.choices:
            source = self.kb.get(sid)
            if (
                source
                and (normalise(source.title) in text or text in normalise(source.title))
                and len(text) >= PICK_MIN_SHARED
            ):
                return sid
        # "补领" / "丢了那个": the choice whose name shares the most with the reply
        scored = []
        for sid in state.choices:
            source = self.kb.get(sid)
            if source:
                title = normalise(source.title)
                scored.append((sum(1 for ch in set(text) if ch in title), sid))
        scored.sort(reverse=True)
        if scored and scored[0][0] >= PICK_MIN_SHARED and (len(scored) == 1 or scored[0][0] > scored[1][0]):
            return scored[0][1]
        return None

    # -- reply shapes ----------------------------------------------------------------------
    def _answer(
        self,
        source: Source,
        hit: Hit | None,
        aspect: str,
        u: Understanding,
        state: ConversationState,
        ranked: list[str],
        place: Place | None,
        rewrite: bool = True,
    ) -> Reply:
        bundle_names = None
        if source.guide and source.guide.bundle:
            parts = [(b, self.kb.get(b)) for b in source.guide.bundle]
            bundle_names = [part.title if part else b for b, part in parts]
        also = [a for a in u.also if a != aspect] if u.aspect_explicit else []
        linked = self.kb.get(source.faq.guide_id) if source.faq and source.faq.guide_id else None
        parts = source_parts(
            source, hit, aspect, bundle_names, u.text, also, linked.guide if linked else None
        )
        if source.guide and (bundles := self.bundles_with(source.id)):
            names = "、".join(f"“{name}”" for name in bundles)
            line = f"如还要一并办理相关事项，可选择{names}：一张表单、一个窗口一次办好。"
            parts.append(Part(line, keep=True, rank=RANK_MORE))
        guide_source = source if source.guide else linked
        place_note = None
        if place is not None and guide_source is not None and guide_source.guide is not None:
            place_note = self._place_note(guide_source, place)
            parts.append(Part(place_note, keep=True))
        summary_of = source if source.guide or guide_source is None else guide_source
        summary = summarise(summary_of, aspect, place_note) if u.language == "zh" else ""
        if summary and not parts[0].text.startswith(summary.rstrip("。…")):  # the short answer leads
            parts.insert(0, Part(summary, keep=True))
        if guide_source is not None:  # the full 一次性告知单 is one tap away
            parts.append(Part(f"完整办事指南（一次性告知单）：/g/{guide_source.id}", keep=True))
        budget = ANSWER_CHARS if aspect != GENERAL and not also else GENERAL_ANSWER_CHARS
        if u.language == "en":  # the English frame counts too
            budget -= len(english_frame("", source.title, aspect))
        text = fit(parts, budget)
        if u.language == "en":
            text = english_frame(text, source.title, aspect)
        rewritten = False
        if self.rewriter is not None and rewrite:
            facts = key_facts(text, source.guide, aspect)
            guide_text = "\n".join(c.text for c in self.kb.chunks_of(source.id))
            better = self.rewriter.rewrite(u.text, text, guide_text, facts, self.item_names())
            if better:
                text, rewritten = better, True
        section = hit.section if hit else aspect
        refs = [SourceRef(id=source.id, title=source.title, section=section)]
        if linked is not None:
            refs.append(SourceRef(id=linked.id, title=linked.title, section="overview"))
            ranked = [ranked[0], linked.id, *[r for r in ranked[1:] if r != linked.id]]
        state.focus = source.id if source.kind == "guide" or not state.focus else state.focus
        if source.faq and source.faq.guide_id:
            state.focus = source.faq.guide_id
        state.aspect = aspect
        state.last_question = mask(u.text)  # no personal data rests in the session state
        return Reply(
            summary=summary,
            blocks=blocks(guide_source or source),
            answer=text,
            sources=refs,
            ranked=ranked,
            aspect=aspect,
            language=u.language,
            state=state,
            suggestions=SUGGESTIONS.get(aspect, DEFAULT_SUGGESTIONS),
            rewritten=rewritten,
        )

    def _place_note(self, source: Source, place: Place) -> str:
        guide = source.guide
        assert guide is not None
        here = self.directory.handles(place.id, guide.locations)
        if here:
            windows = "、".join(p.name for p in self.directory.where_inside(place.id, guide.locations))
            where = f"，在{windows}" if windows else ""
            return f"本点（{place.name}）可以办理{where}；办公时间：{place.hours or guide.hours or '请咨询窗口'}。"
        nearest = self.directory.nearest(place, guide.locations)
        parts_here = [
            part.title
            for part in (self.kb.get(b) for b in guide.bundle)
            if part is not None and part.guide and self.directory.handles(place.id, part.guide.locations)
        ]
        if parts_here:  # a "一件事" bundle not taken here, some of whose items are
            elsewhere = f"合并办理请到{nearest.name}" if nearest else f"合并办理请拨打{HOTLINE}咨询地点"
            return f"本点（{place.name}）可以办理其中的{'、'.join(parts_here)}；“{guide.name}”{elsewhere}。"
        if nearest is None:
            return f"本点（{place.name}）不办理此事项，请拨打{HOTLINE}咨询办理地点。"
        return f"本点（{place.name}）不办理此事项；就近可到：{nearest.name}（{nearest.address or ''}，{nearest.hours or ''}）。"

    def _clarify(
        self, decision: Decision, u: Understanding, aspect: str, state: ConversationState, hits: list[Hit]
    ) -> Reply:
        titles = [h.title for h in decision.choices]
        state.choices = [h.id for h in decision.choices]
        state.aspect = aspect
        state.last_question = mask(u.text)  # no personal data rests in the session state
        ranked = [h.id for h in decision.choices] + [h.id for h in hits if h.id not in state.choices]
        refs = [SourceRef(id=h.id, title=h.title, section=h.section) for h in decision.choices]
        guides = [self.kb.get(h.id) for h in decision.choices]
        briefs = [brief(g.guide, aspect) if g and g.guide else None for g in guides]
        preface = None
        if decision.reason in (DeclineReason.NOT_COVERED, DeclineReason.UNSURE):  # say why it asks
            preface = compose_decline(decision.reason, u.language, decision.details, handoff=False)
        return Reply(
            answer=compose_clarify(titles, u.language, briefs, preface),
            reason=decision.reason,
            choices=refs,
            ranked=ranked,
            aspect=aspect,
            language=u.language,
            state=state,
            suggestions=titles,
        )

    def _about_place(self, place: Place, u: Understanding, state: ConversationState) -> Reply:
        """An hours, address or phone question about the place asked at (its own record)."""
        state.aspect = u.aspect
        state.last_question = mask(u.text)
        return Reply(
            answer=answer_about(place, self.directory, u.aspect, u.text),
            aspect=u.aspect,
            language=u.language,
            state=state,
            suggestions=SUGGESTIONS.get(u.aspect, DEFAULT_SUGGESTIONS),
        )

    def _lookup_note(self, items: list[Hit], language: str) -> str:
        """Where one's own records can be looked up: the knowledge base's look-up service among the
        candidates, with its link or window ("" when there is none)."""
        found = self.coverage.lookup_service(items)
        source = self.kb.get(found.id) if found else None
        if source is None or source.guide is None:
            return ""
        where = source.guide.online_url or source.guide.window or ""
        if language == "en":
            return f'You can look it up yourself with "{source.title}"' + (f": {where}." if where else ".")
        return f"可以通过“{source.title}”自助查询" + (f"：{where}。" if where else "。")

    def _greet(self, decision: Decision, u: Understanding, state: ConversationState) -> Reply:
        """Small talk: a short reply and things to ask; the conversation keeps its item in focus."""
        text, offered = small_talk_reply(decision.details["kind"], u.language)
        return Reply(answer=text, aspect=GENERAL, language=u.language, state=state, suggestions=offered)

    def _decline(
        self,
        decision: Decision,
        u: Understanding,
        state: ConversationState,
        place: Place | None,
    ) -> Reply:
        video = place.video_help if place else None
        if decision.reason in (DeclineReason.NO_MATCH, DeclineReason.NOT_COVERED):
            state.last_question = mask(u.text)  # a clarifying next turn may make it answerable
        handoff = {"hotline": HOTLINE, "window": HANDOFF_WINDOW}
        if video:
            handoff["video"] = video
        return Reply(
            answer=compose_decline(
                decision.reason or DeclineReason.NO_MATCH, u.language, decision.details, video
            ),
            declined=True,
            reason=decision.reason,
            handoff=handoff,
            aspect=u.aspect,
            language=u.language,
            state=state,
            suggestions=DEFAULT_SUGGESTIONS,
        )
