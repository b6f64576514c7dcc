"""Understanding a question: its language, the aspect it asks about, and whether it only follows
up on the item already being discussed ("那要多久", "能网上办吗") or names an item of its own.

Everything here is pure and table-driven: the word lists are data in ``assistant/data/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

from knowledge.text import normalise

ASPECTS = (
    "materials",
    "conditions",
    "time",
    "fee",
    "location",
    "hours",
    "phone",
    "steps",
    "online",
    "booking",
    "general",
)

# Words that carry no item: question frames, fillers, pronouns, and the words for going through a
# procedure at all (审核, 手续, 办下来: "审核要多长时间" asks about the item in focus), and hedges (大概,
# 差不多: "大概几天能批"). What remains after removing them and the aspect words is the part of a
# question that can name an item.
_FILLER = re.compile(
    r"审核|审批|受理|手续|申请|办理|下来|请问|你好|您好|麻烦|谢谢|一下|那么|那个|这个|那|这|呢|吗|吧|啊|呀|哦|嘛|的|了|么|我|你|他|她|们|要|想|能|可以|"
    r"需要|怎么|咋|如何|什么|啥|哪些|哪个|多少|是不是|是否|有没有|还|也|再|又|就|都|在|去|办|弄|搞|给|和|跟|或者|还是|"
    r"现在|以后|之前|如果|的话|可不可以|行不行|大概|大约|大致|差不多|左右|通常|"
    r"不|没|有|得|着|过|会|让|被|把|对|为|从|到|用|一个|个|一|二|第|"
    r"[，。？！、；：,.?!;:\s\"'“”‘’（）()…~～-]"
)
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
    data = yaml.safe_load(
        resources.files("assistant").joinpath("data/aspects.yaml").read_text(encoding="utf-8")
    )
    return {
        aspect: ([normalise(w) for w in spec.get("zh", [])], [w.lower() for w in spec.get("en", [])])
        for aspect, spec in data.items()
    }


def language_of(question: str) -> str:
    latin = len(_LATIN.findall(question))
    han = len(_HAN.findall(question))
    return "en" if latin > 3 * max(han, 1) else "zh"


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
    aspects = detect_aspects(text, language)
    aspect = aspects[0] if aspects else None
    residual = strip_aspect_words(text) if language == "zh" else re.sub(r"[^a-z]+", " ", text).strip()
    return Understanding(
        text=text,
        language=language,
        aspect=aspect or "general",
        aspect_explicit=aspect is not None,
        residual=residual,
        also=aspects[1:],
    )


def is_follow_up(u: Understanding) -> bool:
    """A question that names no item of its own ("那要多久？", "能在网上办吗", "how long does it take?")."""
    if u.language == "en":
        content = [w for w in u.residual.split() if w not in _EN_FILLER]
        return len(content) <= 1
    return len(u.residual) <= 1


_EN_FILLER = set(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "to",
        "do",
        "does",
        "did",
        "i",
        "we",
        "my",
        "our",
        "it",
        "its",
        "is",
        "are",
        "was",
        "be",
        "can",
        "could",
        "will",
        "would",
        "should",
        "me",
        "you",
        "your",
        "this",
        "that",
        "there",
        "here",
        "then",
        "so",
        "what",
        "which",
        "how",
        "long",
        "much",
        "many",
        "when",
        "where",
        "who",
        "why",
        "if",
        "for",
        "of",
        "in",
        "on",
        "at",
        "with",
        "from",
        "by",
        "get",
        "take",
        "need",
        "needs",
        "have",
        "has",
        "any",
        "also",
        "too",
        "please",
        "tell",
        "know",
        "about",
        "still",
    ]
)


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
    path = resources.files("assistant").joinpath("data/glossary_en.txt")
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or "\t" not in line:
            continue
        english, chinese = line.split("\t", 1)
        entries.append((english.strip().lower(), chinese.strip()))
    entries.sort(key=lambda e: -len(e[0]))
    return [(re.compile(r"(?<![a-z])" + re.escape(en) + r"(?![a-z])"), zh) for en, zh in entries]


def chinese_terms(english_question: str) -> str:
    """The guides' Chinese words for the government vocabulary in an English question (glossary data)."""
    text = english_question.lower()
    found: list[str] = []
    for pattern, chinese in _glossary():
        if pattern.search(text):
            found.append(chinese)
            text = pattern.sub(" ", text)  # a longer phrase wins over the words inside it
    return " ".join(found)
