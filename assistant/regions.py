"""Which regions a knowledge base speaks for, and whether a question asks for another region's
rules ("北京的公积金", "在广州注册个体户"). The place names are data (``data/gazetteer.txt``), and so
are the words that make a name the place of the rule (``data/regions.yaml``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from assistant.data_files import read_lines, read_yaml
from assistant.thresholds import MIN_PLACE_NAME

_OWN_REGION = re.compile(r"^([\u4e00-\u9fff]{2,4}?)(?:省|市|自治区|自治州|县|区)")
_CUES = read_yaml("regions.yaml")
_TRAVEL: tuple[str, ...] = tuple(_CUES["travel"])
_RULE_PLACE = re.compile(f"(?:市|省)?(?:{'|'.join(_CUES['rule_place'])})")
_RULE_ACT = re.compile(f"(?:市|省)?(?:{'|'.join(_CUES['rule_act'])})")
_NOT_OPENING_RULE = re.compile(f"(?:市|省)?(?:{'|'.join(_CUES['opening_not'])})")


@lru_cache(maxsize=1)
def gazetteer() -> tuple[dict[str, str], re.Pattern[str] | None]:
    """Place names of China (``data/gazetteer.txt``): name → full name, and one pattern matching any."""
    full_of: dict[str, str] = {}
    for line in read_lines("gazetteer.txt"):
        names = [n for n in line.split() if len(n) >= MIN_PLACE_NAME]
        for name in names:
            full_of.setdefault(name, names[0])
    if not full_of:
        return full_of, None
    return full_of, re.compile("|".join(re.escape(n) for n in sorted(full_of, key=len, reverse=True)))


def regions_of(departments: Iterable[str]) -> set[str]:
    """Names of the regions the departments' names speak for ("广东省…厅", "广州市…局", "云川市公安局" —
    a region the gazetteer does not know is taken from the department's own name)."""
    full_of, pattern = gazetteer()
    local: set[str] = set()
    for department in departments:
        if pattern is not None:
            local.update(full_of[m.group(0)] for m in pattern.finditer(department))
        if own := _OWN_REGION.match(department):
            local.update({own.group(0), own.group(1)})
    return local


def foreign_region(text: str, local: set[str]) -> str | None:
    """A region the question is about that is none of the ``local`` ones, if any.

    Only a region that is the place of the rule counts ("北京的公积金", "上海办居住证",
    "在广州注册个体户", "长沙低保怎么申请": a name that opens the question), not one merely mentioned ("在杭州工作", "去上海看病" is what 异地就医 is
    about) or travelled to ("去澳门的旅游签注"); and none when the question also names a local
    region.
    """
    full_of, pattern = gazetteer()
    if pattern is None:
        return None
    if any(name in text for name in local):
        return None
    mentioned = []
    for m in pattern.finditer(text):
        if full_of[m.group(0)] in local:
            return None
        before, after = text[max(0, m.start() - 1) : m.start()], text[m.end() :]
        if before in _TRAVEL:
            continue  # a destination ("去澳门的旅游签注"), not the place whose rule is asked
        opens = m.start() == 0 and after and not _NOT_OPENING_RULE.match(after)
        if opens or _RULE_PLACE.match(after) or (before == "在" and _RULE_ACT.match(after)):
            mentioned.append(m.group(0))
    return mentioned[0] if mentioned else None
