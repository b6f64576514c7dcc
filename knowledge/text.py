"""Text normalisation applied identically to documents and questions before matching.

Order: NFKC (full-width → half-width), Traditional → Simplified (OpenCC t2s), case folding,
then the variant lexicon (``data/variants.txt``: the words citizens use → the guides' word).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

import opencc

_t2s = opencc.OpenCC("t2s")
_SPACE = re.compile(r"\s+")
_HAN = re.compile(r"[\u3400-\u9fff]")


@lru_cache(maxsize=32_768)
def fold(text: str) -> str:
    """Width, script and case folding, without the variant lexicon. Cached: OpenCC's pure-Python
    conversion is the slow part, and answers fold the same guide texts again and again."""
    text = unicodedata.normalize("NFKC", text)
    if _HAN.search(text):
        text = _t2s.convert(text)
    return _SPACE.sub(" ", text).strip().lower()


class VariantLexicon:
    """Maps variant words to the standard word, longest match first at each position."""

    def __init__(self, groups: list[list[str]]):
        self.canonical: dict[str, str] = {}
        for group in groups:
            words = [fold(w) for w in group if w.strip()]
            if len(words) < 2:
                continue
            standard = words[0]
            for word in words:
                self.canonical.setdefault(word, standard)
        alternatives = sorted(self.canonical, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None

    @classmethod
    def from_file(cls, path: Path | str) -> VariantLexicon:
        return cls.from_text(Path(path).read_text(encoding="utf-8"))

    @classmethod
    def from_text(cls, text: str) -> VariantLexicon:
        groups = [
            line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
        ]
        return cls(groups)

    def apply(self, folded: str) -> str:
        if self._pattern is None:
            return folded
        return self._pattern.sub(lambda m: self.canonical[m.group(0)], folded)


def _variants_text() -> str:
    return resources.files("knowledge").joinpath("data/variants.txt").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_lexicon() -> VariantLexicon:
    return VariantLexicon.from_text(_variants_text())


@lru_cache(maxsize=1)
def lexicon_fingerprint() -> str:
    """Changes whenever the variant lexicon does: indexed text depends on it, so an edited lexicon
    re-indexes every source on the next ingest."""
    import hashlib

    return hashlib.sha256(_variants_text().encode("utf-8")).hexdigest()[:16]


def normalise(text: str, lexicon: VariantLexicon | None = None) -> str:
    """The one normalisation used for indexing and for questions."""
    return (lexicon or default_lexicon()).apply(fold(text))
