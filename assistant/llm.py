"""The optional LLM: rewrites a composed answer conversationally, from the guide text only.

Any OpenAI-compatible endpoint (DeepSeek, Qwen, vLLM, Ollama) through langchain. The composed
answer is always the fallback: on a timeout, an error, a rewrite that drops a fact the composed
answer stated (a number with its unit, a link, a phone number, a material), or one that adds a
fact the sources do not state (a number, amount, date, phone, link or item name: "加急服务费200元"),
the rewrite is discarded. After ``BREAKER_FAILURES`` failures in a row the LLM is not asked for
``BREAKER_SECONDS``: a citizen does not wait out a timeout per question while it is down.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Iterable

from assistant.aspects import GENERAL
from knowledge.models import Guide

log = logging.getLogger("zhiyin.llm")

# Seconds to wait for a rewrite before the composed answer is used; set by hand, not measured
# separately (a server passes its own, ``llm_timeout_seconds``).
LLM_TIMEOUT_S = 8.0
# Sampling temperature of a rewrite: low, for wording that stays close to the composed answer; set
# by hand, not measured separately.
LLM_TEMPERATURE = 0.2
# Failures or timeouts in a row after which the LLM is skipped, and for how long; set by hand: three
# timeouts of ``LLM_TIMEOUT_S`` are what a citizen may wait for once, not on every question.
BREAKER_FAILURES = 3
BREAKER_SECONDS = 60.0

SYSTEM_PROMPT = (
    "你是政务服务大厅的导办员。请把“草拟答复”改写得更口语、更亲切、更有条理，"
    "但只能使用“办事指南原文”和“草拟答复”里的信息：不得增加、删减或改动任何材料、时限、费用、地址、"
    "电话、网址和条件；所有数字、网址、电话必须原样保留。不要编造规定。用与提问相同的语言回答。"
)

_FACT = re.compile(
    r"https?://\S+?(?=[\s，。；）)]|$)"  # links
    r"|\d{3,4}-\d{7,8}"  # phone numbers
    r"|\d+(?:\.\d+)?\s*(?:个工作日|工作日|元|天|次|份|周岁|岁|年|个月)"  # numbers with their unit
)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def key_facts(composed: str, guide: Guide | None, aspect: str) -> list[str]:
    """What a rewrite must keep: every link, phone and quantity of the composed answer, and the
    material names when materials were asked."""
    facts = [m.group(0) for m in _FACT.finditer(composed)]
    if guide is not None and aspect in ("materials", GENERAL):
        facts += [m.name for m in guide.materials]
    return list(dict.fromkeys(facts))


def keeps_facts(rewrite: str, facts: list[str]) -> bool:
    body = _squash(rewrite)
    return all(_squash(f) in body for f in facts)


# what a rewrite may not bring in: a link, an e-mail, or a run of digits (amounts, dates, phones,
# days, counts; "2026年3月1日" and "0999-1234567" are runs of digits too)
_ADDED = re.compile(r"https?://[^\s，。；）)]+|[\w.+-]+@[\w-]+\.[\w.]+|\d+(?:\.\d+)?")


def invented(rewrite: str, sources: str, item_names: Iterable[str] = ()) -> list[str]:
    """The facts of ``rewrite`` that ``sources`` (the composed answer and the guide text) do not
    state: links, e-mails and numbers absent from them, and item names of the knowledge base they
    do not name."""
    body = _squash(sources)
    said = _squash(rewrite)
    added = [m.group(0) for m in _ADDED.finditer(said) if m.group(0) not in body]
    added += [name for name in item_names if _squash(name) in said and _squash(name) not in body]
    return list(dict.fromkeys(added))


class CircuitBreaker:
    """Skip a failing service for a while: open after ``failures`` failures in a row, for ``seconds``."""

    def __init__(self, failures: int = BREAKER_FAILURES, seconds: float = BREAKER_SECONDS):
        self.failures, self.seconds = failures, seconds
        self._count = 0
        self._open_until = 0.0
        self._lock = threading.Lock()

    def allows(self) -> bool:
        return time.monotonic() >= self._open_until

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self._count = 0
                return
            self._count += 1
            if self._count >= self.failures:
                self._open_until = time.monotonic() + self.seconds
                self._count = 0


class LLMRewriter:
    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = LLM_TIMEOUT_S):
        from langchain_openai import ChatOpenAI

        self.model = model
        self.chat = ChatOpenAI(
            base_url=base_url,
            model=model,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=0,
            temperature=LLM_TEMPERATURE,
        )
        self.breaker = CircuitBreaker()

    def rewrite(
        self,
        question: str,
        composed: str,
        guide_text: str,
        facts: list[str],
        item_names: Iterable[str] = (),
    ) -> str | None:
        """The rewritten answer, or None when the composed one must be used. ``item_names``: the
        knowledge base's item names, none of which a rewrite may bring in."""
        from langchain_core.messages import HumanMessage, SystemMessage

        if not self.breaker.allows():
            return None
        prompt = f"提问：{question}\n\n办事指南原文：\n{guide_text}\n\n草拟答复：\n{composed}"
        try:
            result = self.chat.invoke([SystemMessage(SYSTEM_PROMPT), HumanMessage(prompt)])
        except Exception as exc:  # timeouts, connection errors, HTTP errors: fall back
            self.breaker.record(ok=False)
            log.warning("LLM rewrite failed (%s); using the composed answer", exc.__class__.__name__)
            return None
        self.breaker.record(ok=True)
        text = result.content if isinstance(result.content, str) else ""
        if not text.strip() or not keeps_facts(text, facts):
            log.info("LLM rewrite dropped facts; using the composed answer")
            return None
        if added := invented(text, f"{composed}\n{guide_text}\n{question}", item_names):
            log.info(
                "LLM rewrite added %d facts the sources do not state; using the composed answer", len(added)
            )
            return None
        return text.strip()
