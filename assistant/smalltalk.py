"""Greetings, thanks and goodbyes: a message made only of these is small talk, answered with a short
reply and things one can ask (``data/smalltalk.yaml``), not declined as a question the guides do
not answer. Whether a message is small talk is decided by its shape — nothing left once the known
words, the assistant's name and punctuation are taken away — never by one word inside a question
("你好，身份证丢了怎么办" is a question)."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.data_files import read_lines, read_yaml

_PUNCTUATION = re.compile(r"[\s\W_]+")


@lru_cache(maxsize=1)
def _words() -> tuple[tuple[str, str], ...]:
    """(word, kind), longest first, so "谢谢你" is taken whole before "谢谢"."""
    data = read_yaml("smalltalk.yaml")
    pairs = [(w, kind) for kind, spec in data["kinds"].items() for w in spec["says"]]
    pairs += [(word, "") for word in [*data["names"], *data["particles"]]]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def small_talk(text: str) -> str | None:
    """The kind of small talk (greeting, thanks, ack, bye) ``text`` is made of, or None."""
    rest = text.lower()
    found: set[str] = set()
    for word, kind in _words():
        if word in rest:
            if word.isascii():  # whole English words only: "hi" is not inside "this"
                pattern = re.compile(rf"\b{re.escape(word)}\b")
                if not pattern.search(rest):
                    continue
                rest = pattern.sub(" ", rest)
            else:
                rest = rest.replace(word, " ")
            if kind:
                found.add(kind)
    if not found or _PUNCTUATION.sub("", rest):
        return None
    return next(kind for kind in read_yaml("smalltalk.yaml")["priority"] if kind in found)


def small_talk_reply(kind: str, language: str) -> tuple[str, list[str]]:
    """(the reply, the questions it offers) for small talk of ``kind``."""
    spec = read_yaml("smalltalk.yaml")["kinds"][kind]
    offered = list(read_lines("starter_questions.txt")) if spec["offer"] else []
    text = spec["en" if language == "en" else "zh"]
    if offered:
        quoted = (
            "; ".join(f'"{q}"' for q in offered) if language == "en" else "".join(f"“{q}”" for q in offered)
        )
        text = f"{text}{' ' if language == 'en' else ''}{quoted}"
    return text, offered
