"""Understanding a question: its language, the aspect it asks about, and whether it only follows
up on the item already being discussed ("那要多久", "能网上办吗") or names an item of its own.

Everything here is pure and table-driven: the word lists are data in ``assistant/data/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.aspects import ASPECTS as ASPECTS  # the names, re-exported
from assistant.aspects import GENERAL, aspects
from assistant.data_files import read_lines, read_yaml
from assistant.thresholds import LATIN_PER_HAN, NO_ITEM_RESIDUAL
from knowledge.text import normalise

_FILLERS = read_yaml("fillers.yaml")  # words that carry no item (see the data file)
_FILLER = re.compile("|".join([*_FILLERS["zh"], _FILLERS["punctuation"]]))
_EN_FILLER = frozenset(_FILLERS["en"])
_LATIN = re.compile(r"[A-Za-z]")
_HAN = re.compile(r"[\u3400-\u9fff]")
_PICK = re.compile(r"^(?:选|要|是)?(?:第)?([一二三四五六七八九1-9])(?:个|项|种)?(?:吧|吗|的)?$")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


@dataclass(frozen=True)
class Understanding:
    text: str  # the normalised question
    language: str  # "zh" or "en"
    aspect: str  # one of ASPECTS
    aspect_explicit: bool  # the question itself named the aspect
    residual: str  # what is left once aspect words and fillers are removed
    also: list[str] = field(default_factory=list)  # further aspects the same question asks about


@lru_cache(maxsize=1)
def _aspect_words() -> dict[str, tuple[list[str], list[str]]]:
    return {
        name: ([normalise(w) for w in aspect.zh], [w.lower() for w in aspect.en])
        for name, aspect in aspects().items()
    }


def language_of(question: str) -> str:
    latin = len(_LATIN.findall(question))
    han = len(_HAN.findall(question))
    return "en" if latin > LATIN_PER_HAN * max(han, 1) else "zh"


def _english_hit(word: str, text: str) -> bool:
    return re.search(r"(?<![a-z])" + re.escape(word) + r"(?![a-z])", text) is not None


def detect_aspects(text: str, language: str) -> list[str]:
    """Every aspect the question asks about, the most specific first ("要跑几趟？冷静期多少天" asks two)."""
    found = []
    for aspect, (zh_words, en_words) in _aspect_words().items():
        if language == "en":
            if any(_english_hit(w, text) for w in en_words):
                found.append(aspect)
        elif any(w in text for w in zh_words):
            found.append(aspect)
    return found


def detect_aspect(text: str, language: str) -> str | None:
    found = detect_aspects(text, language)
    return found[0] if found else None


def strip_aspect_words(text: str) -> str:
    out = text
    for zh_words, _ in _aspect_words().values():
        for word in sorted(zh_words, key=len, reverse=True):
            out = out.replace(word, " ")
    return _FILLER.sub("", out)


def understand(question: str) -> Understanding:
    text = normalise(question)
    language = language_of(question)
    asked = detect_aspects(text, language)
    aspect = asked[0] if asked else None
    residual = strip_aspect_words(text) if language == "zh" else re.sub(r"[^a-z]+", " ", text).strip()
    return Understanding(
        text=text,
        language=language,
        aspect=aspect or GENERAL,
        aspect_explicit=aspect is not None,
        residual=residual,
        also=asked[1:],
    )


def is_follow_up(u: Understanding) -> bool:
    """A question that names no item of its own ("那要多久？", "能在网上办吗", "how long does it take?")."""
    if u.language == "en":
        content = [w for w in u.residual.split() if w not in _EN_FILLER]
        return len(content) <= NO_ITEM_RESIDUAL
    return len(u.residual) <= NO_ITEM_RESIDUAL


def picked_choice(question: str, n_choices: int) -> int | None:
    """The 0-based choice a reply like "第二个" / "2" / "选一" picks, if any."""
    text = normalise(question).strip("。.!！ ")
    match = _PICK.match(text)
    if not match:
        return None
    raw = match.group(1)
    index = (_CN_DIGITS.get(raw) or int(raw)) - 1
    return index if 0 <= index < n_choices else None


@lru_cache(maxsize=1)
def _glossary() -> list[tuple[re.Pattern[str], str]]:
    entries = []
    for line in read_lines("glossary_en.txt"):
        if "\t" not in line:
            continue
        english, chinese = line.split("\t", 1)
        entries.append((english.strip().lower(), chinese.strip()))
    entries.sort(key=lambda e: -len(e[0]))
    return [(re.compile(r"(?<![a-z])" + re.escape(en) + r"(?![a-z])"), zh) for en, zh in entries]


@lru_cache(maxsize=4096)  # read twice a turn: for the search and for coverage
def chinese_terms(english_question: str) -> str:
    """The guides' Chinese words for the government vocabulary in an English question (glossary data)."""
    text = english_question.lower()
    found: list[str] = []
    for pattern, chinese in _glossary():
        if pattern.search(text):
            found.append(chinese)
            text = pattern.sub(" ", text)  # a longer phrase wins over the words inside it
    return " ".join(found)
