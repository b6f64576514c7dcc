"""Who applies (``data/audiences.yaml``): the groups of applicants a question speaks as and an item's
name is for (foreigners, 港澳台 residents, diplomats, soldiers, the elderly; the insurance schemes and
forms of business that only decline), and the ordinary resident a question that names none is."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.data_files import read_yaml


def _audience_data() -> dict[str, dict]:
    return read_yaml("audiences.yaml")


@lru_cache(maxsize=1)
def _audiences() -> dict[str, tuple[list[str], list[str]]]:
    return {group: (spec["asks"], spec["names"]) for group, spec in _audience_data().items()}


@lru_cache(maxsize=1)
def _ask_patterns() -> dict[str, re.Pattern[str]]:
    return {
        group: re.compile(spec["asks_pattern"])
        for group, spec in _audience_data().items()
        if "asks_pattern" in spec
    }


def excluded_by(groups: set[str]) -> set[str]:
    """The groups an applicant of ``groups`` cannot also belong to (a 内地居民 is no foreigner)."""
    data = _audience_data()
    return {other for group in groups for other in data[group].get("excludes", [])}


@lru_cache(maxsize=1)
def decline_only_groups() -> frozenset[str]:
    return frozenset(group for group, spec in _audience_data().items() if spec.get("decline_only"))


@lru_cache(maxsize=1)
def ordinary_groups() -> frozenset[str]:
    return frozenset(group for group, spec in _audience_data().items() if spec.get("ordinary"))


def asked_groups(question: str) -> set[str]:
    """The groups of applicants the question speaks as (foreigner, military …)."""
    patterns = _ask_patterns()
    return {
        group
        for group, (asks, _) in _audiences().items()
        if any(w in question for w in asks) or (group in patterns and patterns[group].search(question))
    }


def named_groups(title: str) -> set[str]:
    return {group for group, (_, names) in _audiences().items() if any(w in title for w in names)}


def speaks_of_group(group: str, text: str) -> bool:
    """Whether the (normalised) text speaks of the group, as a question or a name would."""
    asks, names = _audiences()[group]
    pattern = _ask_patterns().get(group)
    return any(w in text for w in (*asks, *names)) or bool(pattern and pattern.search(text))


def group_label(group: str) -> str:
    return _audience_data()[group]["label"]
