"""Whether an item covers what a question asks — the act and the object — not only whether it is
similar. Similarity finds the candidates; coverage decides whether one of them answers.

- **The act.** The stages of an item's life (``data/intents.yaml``: 申领, 补办, 换领, 变更, 注销, 查询 …)
  that the question asks and that the item's name carries. An item named for one act does not answer
  another ("营业执照丢了咋整" is not 有限责任公司普通注销登记); the plain item (its name carries no act,
  or only a first application: 居住证申领) answers another act when its text speaks of it; a look-up
  service (导游证查询) answers only a question that asks to look something up, not "导游证怎么申请".
- **The object.** A word of the question that this knowledge base names things with (it is in some
  guide's name, aliases or materials) and that tells items apart (it is in at most
  ``SPECIFIC_NAME_SHARE`` of the guides' names) is what the question is about: an item that mentions
  none of the question's such words (in its name, aliases and text) does not answer it — "营业执照遗失
  补办" is not 居民身份证补领, "驾照丢了" is not 残疾人证挂失补办. One is enough, since a long question
  also names its circumstances (公司, 外省) that a guide need not repeat. A word the knowledge base
  names nothing with (孩子, 小饭馆) is the citizen's own and is left to the search.
- **A personal look-up** ("查一下我的社保缴费记录", "我的低保申请到哪一步了") asks for one's own records or
  the progress of one's own case: no guide answers that, however similar; the reply says where to
  look it up (``data/lookups.yaml``: the request's shape, never a topic word).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from assistant.acts import asked_stages, named_stages
from assistant.audiences import asked_groups, excluded_by, named_groups, ordinary_groups, speaks_of_group
from assistant.data_files import read_yaml
from assistant.thresholds import SPECIFIC_NAME_SHARE
from knowledge import KnowledgeBase
from knowledge.models import Hit
from knowledge.text import normalise

LOOKUP = "lookup"  # the stage of data/intents.yaml that a look-up service's name carries
MIN_OBJECT_CHARS = 2  # a one-character word (证, 办) names nothing on its own
MIN_DOCUMENT_CHARS = 3  # a two-character one (房本, 证书) is too often a citizen's word for a known one
MATERIALS_SECTION = "materials"  # the chunk section that lists a guide's materials (knowledge.chunking)


@lru_cache(maxsize=1)
def _document_endings() -> tuple[str, ...]:
    return tuple(read_yaml("coverage.yaml")["document_endings"])


DOCUMENT_ENDINGS = _document_endings()


@dataclass(frozen=True)
class Gap:
    """What an item does not cover of a question."""

    kind: str  # "act": for another act; "group": for other applicants; "object": about another thing
    objects: tuple[str, ...]  # the question's object words, the most specific first
    acts: tuple[str, ...]  # the acts the question asks (stage names of data/intents.yaml)
    groups: tuple[str, ...] = ()  # the applicants the question speaks as, whom the item does not serve


def act_labels(acts: tuple[str, ...]) -> str:
    """How a reply names the acts asked ("遗失补办")."""
    stages = read_yaml("intents.yaml")
    return "".join(stages[act]["label"] for act in acts if act in stages)


@lru_cache(maxsize=1)
def _lookup_patterns() -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
    data = read_yaml("lookups.yaml")
    return (
        [re.compile(p, re.I) for p in data["patterns"]],
        [re.compile(p, re.I) for p in data["how_to"]],
    )


def is_personal_lookup(question: str) -> bool:
    """Whether the (normalised) question asks for one's own records or case ("帮我查下社保交了几年"),
    not how to look them up oneself ("怎么查我的社保缴费记录")."""
    asks, how_to = _lookup_patterns()
    return any(p.search(question) for p in asks) and not any(p.search(question) for p in how_to)


FIRST = "first"  # the stage of a first application (申领, 设立): the plain item's


@lru_cache(maxsize=16)
def _act_words_of(act: str) -> tuple[str, ...]:
    spec = read_yaml("intents.yaml")[act]
    return (*spec["asks"], *spec["names"])


@lru_cache(maxsize=1)
def _act_words() -> frozenset[str]:
    """Every word that says an act, in questions or in names: not an object."""
    return frozenset(
        w for spec in read_yaml("intents.yaml").values() for w in (*spec["asks"], *spec["names"])
    )


class CoverageIndex:
    """What one knowledge base names its items with, and what each item mentions; follows the
    knowledge base to a new version."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._lock = threading.Lock()
        self._version: int | None = None
        self._name_share: dict[str, float] = {}
        self._mentions: dict[str, tuple[str, str]] = {}
        self._full: dict[str, str] = {}

    def _current(self) -> None:
        version = self.kb.version
        if version == self._version:
            return
        with self._lock:
            if version == self._version:
                return
            guides = [s.guide for s in self.kb.sources().values() if s.guide is not None]
            named: Counter[str] = Counter()  # in how many guides' names (and aliases) a word is
            vocabulary: set[str] = set()  # every word items are named or asked for with
            for guide in guides:
                words = set(self.kb.subwords(guide.name))  # aliases are citizens' words: not names
                named.update(words)
                vocabulary |= words
                vocabulary.update(
                    w
                    for m in guide.materials
                    for w in self.kb.subwords(m.name)
                    if w.endswith(DOCUMENT_ENDINGS)
                )
            total = max(1, len(guides))
            self._name_share = {w: named[w] / total for w in vocabulary if len(w) >= MIN_OBJECT_CHARS}
            self._mentions = {}
            self._full = {}
            self._version = version

    def object_words(self, residual: str) -> tuple[str, ...]:
        """The words of the question's item words that name items specifically (see the module)."""
        self._current()
        acts = _act_words()
        found = []
        documents = []  # documents no item is named with (行驶证, 健康证): the object only failing others
        for word in self.kb.words(residual):
            if word not in self._name_share and self._names_a_document(word):
                documents += [word] if word not in acts and word not in documents else []
                continue
            for part in [word] if word in self._name_share else self._compound_parts(word):
                share = self._name_share.get(part)
                if share is None or share > SPECIFIC_NAME_SHARE or len(part) < MIN_OBJECT_CHARS:
                    continue
                if part not in acts and part not in found:
                    found.append(part)
        return tuple(found or documents)

    def _names_a_document(self, word: str) -> bool:
        """A word shaped like a document's name (it ends like one and is at least
        ``MIN_DOCUMENT_CHARS`` long: 行驶证, 健康证) none of whose parts a guide is named with
        (unlike 教师资格证): the question is about a document, and an item must speak of it."""
        return (
            len(word) >= MIN_DOCUMENT_CHARS
            and word.endswith(DOCUMENT_ENDINGS)
            and not any(p in self._name_share for p in self.kb.subwords(word) if p != word)
        )

    def _compound_parts(self, word: str) -> list[str]:
        """A word no name has that is made of name words ("枪支弹药": 枪支, 弹药) names things by its
        parts; one that only contains some ("宅基地" holds 基地) does not."""
        parts = [p for p in self.kb.subwords(word) if p != word and p in self._name_share]
        covered = set()
        for part in parts:
            start = word.find(part)
            covered.update(range(start, start + len(part)))
        return parts if len(covered) == len(word) else []

    def mentions(self, source_id: str) -> tuple[str, str]:
        """What an item is named (its name, aliases and FAQ questions) and what its text says besides
        its materials (a list of documents names many things the item is not about), normalised."""
        self._current()
        found = self._mentions.get(source_id)
        if found is None:
            source = self.kb.get(source_id)
            names = [source.title] if source else []
            if source is not None and source.guide is not None:
                names += [*source.guide.aliases, *(pair.q for pair in source.guide.faq)]
            body = [c.text for c in self.kb.chunks_of(source_id) if c.section != MATERIALS_SECTION]
            found = (normalise(" ".join(names)), normalise(" ".join(body)))
            self._mentions[source_id] = found
        return found

    def full_text(self, source_id: str) -> str:
        """Everything an item says, its materials included, normalised."""
        self._current()
        found = self._full.get(source_id)
        if found is None:
            names, _ = self.mentions(source_id)
            found = names + " " + normalise(" ".join(c.text for c in self.kb.chunks_of(source_id)))
            self._full[source_id] = found
        return found

    def gaps(self, question: str, residual: str, items: list[Hit]) -> list[Gap | None]:
        """What each of ``items`` does not cover of the question (None: it covers the act and the
        object); the items are the candidates as the items they are about (an FAQ row as its guide).
        The acts asked are those the question says in a citizen's words or in the names' own
        (这算换领还是补领)."""
        acts = asked_stages(question) | named_stages(question)
        objects = self.object_words(residual) if residual else ()
        if objects:
            first = self.most_specific(objects)
            objects = (first, *(w for w in objects if w != first))
        special = asked_groups(question) & excluded_by(ordinary_groups())  # 外国人, 港澳台居民 …
        return [self._gap(question, acts, objects, special, item) for item in items]

    def gap(self, question: str, residual: str, item: Hit) -> Gap | None:
        """What ``item`` alone does not cover of the question (see ``gaps``)."""
        return self.gaps(question, residual, [item])[0]

    def _gap(
        self, question: str, acts: set[str], objects: tuple[str, ...], special: set[str], item: Hit
    ) -> Gap | None:
        asked = tuple(sorted(acts))
        if item.kind == "guide" and not self._covers_act(acts, item):
            return Gap("act", objects, asked)
        if item.kind == "guide" and self._for_other_applicants(question, item):
            return Gap("group", objects, asked)
        if item.kind == "guide" and (unserved := self._unserved_groups(special, item)):
            return Gap("group", objects, asked, unserved)
        if objects and not self._covers_object(objects, item):
            return Gap("object", objects, asked)
        return None

    def _covers_object(self, objects: tuple[str, ...], item: Hit) -> bool:
        """The item is named with one of the question's object words, or its text speaks of the most
        specific of them (a question also names circumstances a guide need not repeat)."""
        names, body = self.mentions(item.id)
        if any(w in names for w in objects):
            return True
        return self.most_specific(objects) in body

    def most_specific(self, objects: tuple[str, ...]) -> str:
        """The object word in the fewest names (the longer of equals): what the question is about."""
        return min(objects, key=lambda w: (self._name_share.get(w, 0.0), -len(w)))

    @staticmethod
    def _for_other_applicants(question: str, item: Hit) -> bool:
        """An item named for applicants an ordinary resident is not (外国人, 港澳台居民, 外交人员) does
        not answer a question that speaks as none of them ("身份证过期了" is not 换发外国人永久居留身份证)."""
        named = named_groups(item.title)
        return bool(named) and not asked_groups(question) and named <= excluded_by(ordinary_groups())

    def _unserved_groups(self, asked: set[str], item: Hit) -> tuple[str, ...]:
        """A question asked as one whom the ordinary resident's items do not serve (``asked``: a
        foreigner, a 港澳台 resident, a diplomat: "外国人能在云川开个体户吗") is answered only by an item
        that is for them or speaks of them; an ordinary item that never mentions them is silent on
        their case. The groups so left unserved (none: the item serves the asker)."""
        if not asked or named_groups(item.title) & asked:
            return ()
        text = self.full_text(item.id)  # its materials too: "已取得他国国籍的…" serves a foreign national
        if any(speaks_of_group(group, text) for group in asked):
            return ()
        return tuple(sorted(asked))

    def _covers_act(self, acts: set[str], item: Hit) -> bool:
        """Whether the guide ``item`` is for the acts asked: its name carries one of them; or it
        carries no act but a first application (申领, 设立 — the plain item) and its text speaks of
        them (居住证申领 telling how to 补领). A look-up service is for looking up only."""
        named = named_stages(item.title)
        if LOOKUP in named and LOOKUP not in acts:
            return False
        asked, offered = acts - {LOOKUP}, named - {LOOKUP}
        if not asked or asked & offered:
            return True
        if offered - {FIRST}:
            return False  # named for another act: 注销 is not 补办
        names, body = self.mentions(item.id)
        return all(any(w in names or w in body for w in _act_words_of(act)) for act in asked - {FIRST})

    def lookup_service(self, items: list[Hit]) -> Hit | None:
        """The first candidate that is a look-up service (its name carries 查询 …), if any."""
        return next((h for h in items if h.kind == "guide" and LOOKUP in named_stages(h.title)), None)
