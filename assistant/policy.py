"""Deciding what to do with a question: answer, ask back, or decline. Pure functions.

``decide`` walks one ordered list of rules (``RULES``: guard → other region → no match → other
group → ask back → answer); the first that decides wins, and a decline says why with a
``DeclineReason``. The thresholds (``assistant/thresholds.py``) are set from principles and
measured on our dev sets (eval/README.md):

- Out of scope: the best dense similarity of multilingual-e5-small between a question and any
  chunk is high for everything Chinese (its scores crowd into 0.8–0.95), so similarity alone
  cannot tell "not covered" from "covered". What can: a question whose *content words* the
  knowledge base has never seen is not answerable from it. We decline when the best match is
  weak AND the question's content is largely unknown to the index, or when the match is very weak.
- Ask back: when the two best candidates are guides of one family (their names share a long
  common part, e.g. 食品经营许可 新办/延续) and the question does not separate them (their scores are
  within a small margin), we list the family instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.acts import asked_stages, named_stages
from assistant.audiences import (
    asked_groups,
    decline_only_groups,
    excluded_by,
    group_label,
    named_groups,
    ordinary_groups,
)
from assistant.coverage import Gap, act_labels, is_personal_lookup
from assistant.data_files import read_yaml
from assistant.declines import DeclineReason
from assistant.guards import guard
from assistant.smalltalk import small_talk
from assistant.thresholds import (
    ASK_BACK_CHOICES,
    CANDIDATE_WINDOW,
    CLARIFY_MARGIN,
    DEFAULT_READING_WEIGHT,
    DENSE_FLOOR,
    DENSE_SURE,
    FAMILY_COMMON,
    MIN_KNOWN_SHARE,
    NAMED_WEIGHT,
    SIBLING_MARGIN,
    UNCOVERED_ECHO_CHARS,
)
from knowledge.models import Hit

# "一件事" bundles (data/bundles.yaml): the national name of a bundle of items handled as one
# ("诊所备案一件事"), and how a question asks for the bundle rather than an item it contains.
_BUNDLES = read_yaml("bundles.yaml")
BUNDLE_MARK: str = _BUNDLES["mark"]
BUNDLE_CUES: tuple[str, ...] = tuple(_BUNDLES["cues"])

_PAREN = re.compile(r"[（(][^）)]*[）)]")


def _longest_common(a: str, b: str) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, start=1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def same_family(a: str, b: str) -> bool:
    """Two item names of one family: 居民身份证首次申领 / 居民身份证补领（丢失补办）."""
    base_a, base_b = _PAREN.sub("", a), _PAREN.sub("", b)
    return _longest_common(base_a, base_b) >= min(FAMILY_COMMON, len(base_a), len(base_b)) and a != b


def is_covered(top: Hit, language: str, known_share: float) -> bool:
    """Whether the best hit plausibly answers the question (see the module docstring)."""
    if top.dense >= DENSE_SURE[language]:
        return True
    if top.dense < DENSE_FLOOR[language]:
        return False
    return language == "en" or known_share >= MIN_KNOWN_SHARE


def names_only_the_family(residual: str, titles: list[str]) -> bool:
    """The question's content (aspect words and fillers removed) is all in the name every member
    shares: "异地就医怎么备案" of 异地就医备案（长期…）/（临时…）, "身份证怎么办" of 居民身份证首次申领/补领/换领."""
    shared = set.intersection(*(set(_PAREN.sub("", t)) for t in titles))
    return bool(residual) and set(residual) <= shared


def family_choices(hits: list[Hit], residual: str = "") -> list[Hit]:
    """Guides tied with the best one and of its family, best first (empty when no tie). A question
    that names nothing but the family's shared name does not separate its members, whatever the
    scores say (their differences then come from wording the question did not use): every member
    found is a choice, in the catalogue's order of their ids (首次申领, 换领, 补领, 临时 — not by
    scores that mean nothing here)."""
    if len(hits) < 2 or hits[0].kind != "guide":
        return []
    top = hits[0]
    family = [h for h in hits[1:CANDIDATE_WINDOW] if h.kind == "guide" and same_family(top.title, h.title)]
    if family and names_only_the_family(residual, [top.title, *(h.title for h in family)]):
        return sorted([top, *family], key=lambda h: h.id)
    tied = [h for h in family if top.score - h.score <= CLARIFY_MARGIN]
    return [top, *tied] if tied else []


def _pairs(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _best_for_other_group(question: str, hits: list[Hit]) -> tuple[set[str], set[str]] | None:
    """(asked, named) when the question is asked for a group and the best guide is named for
    another one."""
    asked = asked_groups(question)
    if not asked or not hits or hits[0].kind != "guide":
        return None
    named = named_groups(hits[0].title)
    if not named or named & asked:
        return None
    if named <= ordinary_groups() and not asked & excluded_by(named):
        return None  # a soldier or an old person is an ordinary resident too
    return asked, named


def for_other_group(question: str, hits: list[Hit]) -> tuple[set[str], set[str]] | None:
    """(asked, named) when the question is asked for a group of applicants and the best guide is
    named for another one, with no guide among the candidates for the asked group: "退役军人优待证"
    finds only "老年人优待证办理", which does not answer it."""
    groups = _best_for_other_group(question, hits)
    if groups is None or any(
        named_groups(h.title) & groups[0] for h in hits[:CANDIDATE_WINDOW] if h.kind == "guide"
    ):
        return None
    return groups


def asked_group_first(question: str, hits: list[Hit]) -> int:
    """Where the first candidate for the asked group is, when the best one is for another group
    ("公司营业执照办下来要几天" finds the 个体户 FAQ first, 有限责任公司设立登记 fourth); 0 when the best
    one may answer."""
    groups = _best_for_other_group(question, hits)
    if groups is None:
        return 0
    return next(
        (
            n
            for n, h in enumerate(hits[1:CANDIDATE_WINDOW], start=1)
            if h.kind == "guide" and named_groups(h.title) & groups[0]
        ),
        0,
    )


_SEGMENT = re.compile(r"[^\w]+")


def _name_pairs(title: str) -> frozenset[str]:
    """The character pairs of a name within its parts: none spans a bracket or a comma."""
    return frozenset().union(*(_pairs(part) for part in _SEGMENT.split(title)))


def _plain_member(choices: list[Hit]) -> list[int]:
    """1 for the plain member of a family — the one whose name says nothing the others do not
    ("专职律师执业许可(申请专职执业)" beside "…(国资律师事务所占编人员申请执业（材料依据同申请专职执业）)"):
    when the question names no member's own part, it is the reading that assumes no special case.
    All 0 when there is none, or more than one reading."""
    names = [_name_pairs(c.title) for c in choices]
    distinct = set(names)  # one item listed by two departments is one reading
    plain = {name for name in distinct if name <= frozenset().union(*(o for o in distinct if o != name))}
    if len(plain) != 1 or len(distinct) < 2:
        return [0] * len(choices)
    first = names.index(plain.pop())
    return [int(n == first) for n in range(len(choices))]


def _named_scores(question: str, choices: list[Hit]) -> list[int]:
    """How strongly the question names each family member: the character pairs of the member's
    own part of the name that the question uses (only when it uses one member's alone: "这算换领还是
    补领" names both), the stage of life it asks about, and who is applying."""
    asked, stages = _pairs(question), asked_stages(question)
    own = []
    for n, choice in enumerate(choices):
        others = set().union(*(_pairs(c.title) for m, c in enumerate(choices) if m != n))
        own.append(len((_pairs(choice.title) - others) & asked))
    if sum(1 for score in own if score) > 1:
        return [0] * len(choices)  # several named: the question itself is torn between them
    if not any(own):
        own = _plain_member(choices)
    scores = []
    for choice, score in zip(choices, own, strict=True):
        if stages:
            named = named_stages(choice.title)
            score += NAMED_WEIGHT * len(named & stages) - NAMED_WEIGHT * bool(named - stages)
        scores.append(score)
    bundles = [n for n, c in enumerate(choices) if BUNDLE_MARK in c.title]
    if bundles and len(bundles) < len(choices):
        # a "一件事" bundle and an item it contains: the question that asks for the bundle gets it,
        # one that names only the item means the item (its answer mentions the bundle)
        asks_bundle = any(cue in question for cue in BUNDLE_CUES)
        for n, choice in enumerate(choices):
            if n in bundles:
                scores[n] += NAMED_WEIGHT if asks_bundle else 0
            elif not asks_bundle and any(choice.title in choices[b].title for b in bundles):
                scores[n] += DEFAULT_READING_WEIGHT
    # the siblings differ by who applies (data/audiences.yaml); a question that names no group is
    # an ordinary resident's
    others = decline_only_groups()  # siblings differ by who applies, not by scheme or business form
    groups = asked_groups(question) - others
    named = [named_groups(c.title) - others for c in choices]
    if any(named):
        for n, for_groups in enumerate(named):
            if groups:
                scores[n] += NAMED_WEIGHT * len(for_groups & groups) - NAMED_WEIGHT * bool(
                    for_groups - groups
                )
            elif not for_groups - ordinary_groups():
                scores[n] += DEFAULT_READING_WEIGHT
    return scores


def named_choice(question: str, choices: list[Hit], context: str = "") -> Hit | None:
    """The family member the question names ("大赛" picks 优秀创业项目资助核发（大赛选拔项目落地资助）,
    "第一次" picks 首次申领 over 补领), if one stands out; else the one the question names together
    with the conversation's previous question (``context``: "城乡居民医保怎么交" then "那养老保险呢")."""
    for text in (question, f"{context} {question}" if context else None):
        if text is None:
            continue
        scores = _named_scores(text, choices)
        best = max(scores)
        if best > 0 and scores.count(best) == 1:
            return choices[scores.index(best)]
    return None


def prefer_named(question: str, hits: list[Hit], context: str = "") -> list[Hit]:
    """Move the sibling the question names to the front, when it is close behind the best hit."""
    if len(hits) < 2 or hits[0].kind != "guide":
        return hits
    top = hits[0]
    family = [top] + [
        h
        for h in hits[1:CANDIDATE_WINDOW]
        if h.kind == "guide" and top.score - h.score <= SIBLING_MARGIN and same_family(top.title, h.title)
    ]
    if len(family) < 2:
        return hits
    named = named_choice(question, family, context)
    if named is None or named is top:
        return hits
    return [named, *[h for h in hits if h is not named]]


# -- the rules -------------------------------------------------------------------------------------


@dataclass
class Decision:
    kind: str  # answer | clarify | decline | greet
    reason: DeclineReason | None = None
    choices: list[Hit] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)  # what a decline names (region, item …)


@dataclass(frozen=True)
class Case:
    """What the rules look at for one question."""

    question: str  # normalised
    language: str  # "zh" or "en"
    hits: list[Hit] | None = None  # the candidates, best first; None before the search
    known_share: float = 0.0  # of the question's content words, the share the index knows
    region: str | None = None  # another region whose rules the question asks for
    context: str = ""  # the conversation's previous question, read with a short follow-up
    residual: str = ""  # the question's item words (aspect words and fillers removed), Chinese only
    items: list[Hit] | None = None  # the hits as the items they are about (an FAQ row as its guide)
    gaps: tuple[Gap | None, ...] = ()  # what each item does not cover of the question (coverage)
    lookup_service: str = ""  # where one's own records can be looked up, said in the reply's language

    @property
    def candidates(self) -> list[Hit]:
        return self.hits or []


def _declines_guarded(case: Case) -> Decision | None:
    """Instruction overrides, personal data, abuse and chatter (``guards``), whatever was found."""
    kind = guard(case.question)
    return Decision("decline", kind) if kind else None


def _greets(case: Case) -> Decision | None:
    """A greeting, thanks or goodbye alone ("你好", "谢谢"): a short reply and things to ask."""
    kind = small_talk(case.question)
    return Decision("greet", details={"kind": kind}) if kind else None


def _declines_other_region(case: Case) -> Decision | None:
    """Another region's rules ("北京的公积金"): our guides are not theirs."""
    if not case.region:
        return None
    return Decision("decline", DeclineReason.OTHER_REGION, details={"region": case.region})


def _declines_personal_lookup(case: Case) -> Decision | None:
    """One's own records or case ("帮我查下社保交了几年", "我的低保批下来没有"): say where to look it up."""
    if not is_personal_lookup(case.question):
        return None
    return Decision("decline", DeclineReason.PERSONAL_LOOKUP, details={"service": case.lookup_service})


def _declines_no_match(case: Case) -> Decision | None:
    """Nothing found, or nothing that plausibly answers the question (see ``is_covered``)."""
    hits = case.candidates
    if not hits or not is_covered(hits[0], case.language, case.known_share):
        return Decision("decline", DeclineReason.NO_MATCH)
    return None


def _declines_other_group(case: Case) -> Decision | None:
    """The item found is for another group of applicants than the one asking ("退役军人优待证" finds
    only 老年人优待证办理)."""
    items = case.items or case.candidates
    if not case.question or (groups := for_other_group(case.question, items)) is None:
        return None
    asked, named = groups
    return Decision(
        "decline",
        DeclineReason.OTHER_GROUP,
        details={
            "item": items[0].title,
            "asked": "、".join(sorted(group_label(g) for g in asked)),
            "named": "、".join(sorted(group_label(g) for g in named)),
        },
    )


def _declines_uncovered(case: Case) -> Decision | None:
    """None of the candidates covers the act and the object asked (``coverage``): ask back with the
    items that come closest (same object, another act), or decline when none does. While one
    candidate covers it, the ranking stands: the act and object read from a question are evidence
    against an item only when no candidate at all fits them."""
    if not case.gaps or any(gap is None for gap in case.gaps):
        return None
    gap = case.gaps[0]
    items = case.items or case.candidates
    if gap.groups:  # "外国人办理个体工商户设立登记"
        asked = "、".join(group_label(g) for g in gap.groups) + f"办理{items[0].title}"
    else:
        asked = (
            f"{gap.objects[0] if gap.objects else case.residual[:UNCOVERED_ECHO_CHARS]}{act_labels(gap.acts)}"
        )
    details = {"asked": f"“{asked}”"} if asked else {}
    closest: dict[str, Hit] = {}  # the same object with another act, best first, each item once
    for item, item_gap in zip(items, case.gaps, strict=False):
        if item_gap is not None and item_gap.kind == "act" and item.kind == "guide":
            closest.setdefault(item.id, item)
    if closest:
        choices = list(closest.values())[:ASK_BACK_CHOICES]
        return Decision("clarify", DeclineReason.NOT_COVERED, choices=choices, details=details)
    return Decision("decline", DeclineReason.NOT_COVERED, details=details)


def _clarifies_uncovered_best(case: Case) -> Decision | None:
    """The best candidate does not cover the act or object asked, but others do: unsure which is
    meant, ask back with the best and the covering ones rather than answer the best with
    confidence (a wrong confident answer is worse than a question back)."""
    if not case.gaps or case.gaps[0] is None:
        return None
    items = case.items or case.candidates
    choices: dict[str, Hit] = {items[0].id: items[0]}
    for item, gap in zip(items, case.gaps, strict=False):
        if gap is None:
            choices.setdefault(item.id, item)
    return Decision("clarify", DeclineReason.UNSURE, choices=list(choices.values())[:ASK_BACK_CHOICES])


def _clarifies_family(case: Case) -> Decision | None:
    """Members of one family tied for the question: ask which one is meant, unless the question
    names one of them (then that one is the answer)."""
    choices = family_choices(case.candidates, case.residual)
    if not choices:
        return None
    named = named_choice(case.question, choices, case.context) if case.question else None
    if named is None:
        return Decision("clarify", choices=choices)
    return Decision("answer", choices=[named])


def _answers(case: Case) -> Decision:
    """The best candidate answers."""
    return Decision("answer")


@dataclass(frozen=True)
class Rule:
    decides: Callable[[Case], Decision | None]  # the decision, or None to leave it to the next rule
    needs_search: bool = True  # False: decided on the question alone, before any search


# What to do with a question: the first of these rules that decides, in this order.
RULES: tuple[Rule, ...] = (
    Rule(_declines_guarded, needs_search=False),
    Rule(_greets, needs_search=False),
    Rule(_declines_other_region),
    Rule(_declines_personal_lookup),
    Rule(_declines_no_match),
    Rule(_declines_other_group),
    Rule(_declines_uncovered),
    Rule(_clarifies_family),
    Rule(_clarifies_uncovered_best),
    Rule(_answers),
)


def decide(case: Case) -> Decision | None:
    """The decision of the first rule of ``RULES`` that makes one. Before the search (``case.hits``
    None) the walk stops at the first rule that needs the candidates: None then means "search, and
    decide again"; after it, the last rule always decides."""
    for rule in RULES:
        if rule.needs_search and case.hits is None:
            return None
        if (decision := rule.decides(case)) is not None:
            return decision
    raise AssertionError("the last rule always decides")
