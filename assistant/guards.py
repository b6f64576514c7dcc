"""Requests declined before any search: instruction overrides, someone's personal data, abuse,
and chatter no service guide answers (recommendations, forecasts, jokes).

The patterns are data (``assistant/data/guards.yaml``); this module only applies them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import yaml

GUARD_KINDS = ("injection", "personal_data", "abuse", "chatter")


@lru_cache(maxsize=1)
def _patterns() -> dict[str, list[re.Pattern[str]]]:
    data = yaml.safe_load(
        resources.files("assistant").joinpath("data/guards.yaml").read_text(encoding="utf-8")
    )
    return {kind: [re.compile(p, re.I) for p in data.get(kind, [])] for kind in GUARD_KINDS}


def guard(normalised_question: str) -> str | None:
    """The kind of request to decline (one of ``GUARD_KINDS``), or None."""
    for kind, patterns in _patterns().items():
        if any(p.search(normalised_question) for p in patterns):
            return kind
    return None
