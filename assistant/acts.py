"""The acts of an item's life — 申领, 补办, 换领, 变更, 注销, 查询 … (``data/intents.yaml``): which ones a
question asks about and which one an item's name carries. Siblings of one family differ by them
(``policy``), and an item named for one act does not answer another (``coverage``)."""

from __future__ import annotations

from functools import lru_cache

from assistant.data_files import read_yaml


@lru_cache(maxsize=1)
def _stages() -> dict[str, tuple[list[str], list[str]]]:
    return {stage: (spec["asks"], spec["names"]) for stage, spec in read_yaml("intents.yaml").items()}


def asked_stages(question: str) -> set[str]:
    """The stages of an item's life the question speaks of (first time, lost, renew, …)."""
    return {stage for stage, (asks, _) in _stages().items() if any(w in question for w in asks)}


def named_stages(title: str) -> set[str]:
    return {stage for stage, (_, names) in _stages().items() if any(w in title for w in names)}
