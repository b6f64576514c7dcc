"""Requests declined before any search: instruction overrides, someone's personal data, abuse,
and chatter no service guide answers (recommendations, forecasts, jokes).

The patterns are data (``assistant/data/guards.yaml``); this module only applies them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.data_files import read_yaml
from assistant.declines import DeclineReason

# The reasons a guard declines for, in the order they are tried.
GUARD_KINDS = (
    DeclineReason.INJECTION,
    DeclineReason.PERSONAL_DATA,
    DeclineReason.ABUSE,
    DeclineReason.CHATTER,
)


@lru_cache(maxsize=1)
def _patterns() -> dict[DeclineReason, list[re.Pattern[str]]]:
    data = read_yaml("guards.yaml")
    return {kind: [re.compile(p, re.I) for p in data.get(kind, [])] for kind in GUARD_KINDS}


def guard(normalised_question: str) -> DeclineReason | None:
    """The kind of request to decline (one of ``GUARD_KINDS``), or None."""
    for kind, patterns in _patterns().items():
        if any(p.search(normalised_question) for p in patterns):
            return kind
    return None
