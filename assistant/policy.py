"""Deciding what to do with a question: answer, ask back, or decline. Pure functions.

The thresholds are set from principles and measured on our dev sets (eval/README.md):

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
from dataclasses import dataclass, field

from knowledge.models import Hit

# Dense similarity below which a Chinese question is not considered covered at all, and the
# band in which we also look at how much of the question the index knows.
DENSE_FLOOR = {"zh": 0.885, "en": 0.80}
DENSE_SURE = {"zh": 0.90, "en": 0.86}
MIN_KNOWN_SHARE = 0.5  # of the question's content words, in the weak band
CLARIFY_MARGIN = 0.25  # fused-score difference under which two family members are "tied"
FAMILY_COMMON = 4  # characters two names must share to be one family

_PAREN = re.compile(r"[（(][^）)]*[）)]")


@dataclass
class Decision:
    kind: str  # answer | clarify | decline
    reason: str | None = None
    choices: list[Hit] = field(default_factory=list)


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


def family_choices(hits: list[Hit]) -> list[Hit]:
    """Guides tied with the best one and of its family, best first (empty when no tie)."""
    if len(hits) < 2 or hits[0].kind != "guide":
        return []
    top = hits[0]
    tied = [
        h
        for h in hits[1:5]
        if h.kind == "guide" and top.score - h.score <= CLARIFY_MARGIN and same_family(top.title, h.title)
    ]
    return [top, *tied] if tied else []


def _pairs(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def named_choice(question: str, choices: list[Hit]) -> Hit | None:
    """The one family member whose own part of the name the question uses ("大赛" picks
    优秀创业项目资助核发（大赛选拔项目落地资助） among its siblings), if exactly one."""
    asked = _pairs(question)
    own = []
    for n, choice in enumerate(choices):
        others = set().union(*(_pairs(c.title) for m, c in enumerate(choices) if m != n))
        own.append(len((_pairs(choice.title) - others) & asked))
    named = [c for c, score in zip(choices, own, strict=True) if score]
    return named[0] if len(named) == 1 else None


def decide(
    hits: list[Hit],
    language: str,
    known_share: float,
    guard_kind: str | None = None,
    other_region: str | None = None,
    question: str = "",
) -> Decision:
    if guard_kind:
        return Decision("decline", guard_kind)
    if other_region:
        return Decision("decline", "other_region")
    if not hits or not is_covered(hits[0], language, known_share):
        return Decision("decline", "no_match")
    choices = family_choices(hits)
    if choices:
        named = named_choice(question, choices) if question else None
        if named is None:
            return Decision("clarify", choices=choices)
        return Decision("answer", choices=[named])
    return Decision("answer")
