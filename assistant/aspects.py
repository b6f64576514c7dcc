"""The aspects a question asks about (materials, time, fee, …): one table, ``data/aspects.yaml``,
from which understanding (the words), composing (the part of a guide, the quoting cue, the English
label) and the follow-up suggestions are all derived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.data_files import read_yaml

GENERAL = "general"  # the aspect of a question that names none: the whole guide, summarised


@dataclass(frozen=True)
class Aspect:
    name: str
    zh: tuple[str, ...]  # words that signal it, as written in the data (not normalised)
    en: tuple[str, ...]
    label_en: str  # how an English answer heads it
    answer: str | None  # the composer of compose.py that answers it; None for GENERAL
    shows: frozenset[str]  # chunk sections its answer shows in full
    cue: re.Pattern[str] | None  # what a sentence about it looks like, for quoting
    brief: bool  # its answer is a line or two (given for every choice of a clarifying question)
    brief_line: str | None  # the line of a several-line answer that a brief one keeps
    suggestions: tuple[str, ...]  # follow-up questions offered after an answer about it


@lru_cache(maxsize=1)
def aspects() -> dict[str, Aspect]:
    """Every aspect by name, in the order they are detected (the most specific first)."""
    return {
        name: Aspect(
            name=name,
            zh=tuple(spec.get("zh", [])),
            en=tuple(spec.get("en", [])),
            label_en=spec["label_en"],
            answer=spec.get("answer"),
            shows=frozenset(spec["shows"]),
            cue=re.compile(spec["cue"]) if "cue" in spec else None,
            brief=spec.get("brief", False),
            brief_line=spec.get("brief_line"),
            suggestions=tuple(spec["suggestions"]),
        )
        for name, spec in read_yaml("aspects.yaml").items()
    }


ASPECTS = tuple(aspects())
