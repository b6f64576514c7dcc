"""Homophone typos in questions: 居住正 → 居住证, 医宝 → 医保, 执页药师 → 执业药师, 社包卡 → 社保卡.

Chinese is typed by sound, so a wrong character usually reads like the right one. A run of a
question is respelled as a word of the knowledge base only when all of these hold, so that a
question written correctly is never changed:

- the run is whole words of the question (respelling never cuts through a word the segmenter
  found), and every character replaced stood alone (the segmenter could use it in no word); a
  two-character run must be two such lone characters;
- neither the knowledge base's own text nor the segmenter's dictionary has the run (a pair of
  characters the guides use is no typo: "网上办" holds 上办, so "手机上办吗" is not read as 上班; and
  the dictionary knows 外市 and 不懂, which read like 外事 and 不动);
- the run differs from the word in one character and reads the same: toneless pinyin (each
  character's usual reading; the word's reading in context) for a three-character run, whose two
  other characters already name the word (个提户 → 个体户); with the tone as well for a two-character
  run, where one character is scant evidence (医宝 → 医保, but 志工 stays 志工 and not 职工).

The words are the knowledge base's vocabulary of item names and the variant lexicon's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,4}")


@lru_cache(maxsize=16_384)
def _reading(char: str, style: Style = Style.NORMAL) -> str:
    return lazy_pinyin(char, style=style)[0]


class Respeller:
    """Respells homophone typos against a vocabulary (see the module docstring)."""

    def __init__(
        self,
        words: Iterable[tuple[str, int]],
        segment: Callable[[str], list[str]],
        attested: Callable[[str], bool],
    ):
        """``words``: (word, weight) — the heavier wins when two words read alike; ``segment``:
        the question's words; ``attested``: whether the run is known Chinese (the knowledge base's
        text or the segmenter's dictionary has it)."""
        self._segment = segment
        self._attested = attested
        self._by_reading: dict[str, tuple[int, str]] = {}
        self._toned: dict[str, list[str]] = {}
        self._words: set[str] = set()
        for word, weight in words:
            if not _HAN_WORD.fullmatch(word) or word in self._words:
                continue
            self._words.add(word)
            key = " ".join(lazy_pinyin(word))
            best = self._by_reading.get(key)
            if best is None or (weight, word) > best:
                self._by_reading[key] = (weight, word)
                self._toned[word] = lazy_pinyin(word, style=Style.TONE3)

    def respell(self, text: str) -> str:
        return _HAN_RUN.sub(lambda m: self._respell_run(m.group(0)), text)

    def _respell_run(self, run: str) -> str:
        tokens = self._segment(run)
        if "".join(tokens) != run:
            return run  # a segmenter that drops characters: leave the text as it is
        bounds, lone, pos = {0}, set(), 0
        for token in tokens:
            if len(token) == 1:
                lone.add(pos)
            pos += len(token)
            bounds.add(pos)
        out, i = [], 0
        while i < len(run):
            word = next(
                (w for n in (3, 2) if (w := self._match(run, i, n, bounds, lone)) is not None),
                None,
            )
            if word is None:
                out.append(run[i])
                i += 1
            else:
                out.append(word)
                i += len(word)
        return "".join(out)

    def _match(self, run: str, start: int, n: int, bounds: set[int], lone: set[int]) -> str | None:
        end = start + n
        window = run[start:end]
        if len(window) < n or start not in bounds or end not in bounds or window in self._words:
            return None
        if n == 2 and not {start, start + 1} <= lone:
            return None
        found = self._by_reading.get(" ".join(_reading(c) for c in window))
        if found is None:
            return None
        word = found[1]
        changed = [k for k in range(n) if word[k] != window[k]]
        if len(changed) != 1 or start + changed[0] not in lone or self._attested(window):
            return None
        k = changed[0]
        if n == 2 and _reading(window[k], Style.TONE3) != self._toned[word][k]:
            return None
        return word
