"""Why the assistant declines a question, and what it says then: one reason per kind of decline,
its texts and the person it hands over to are data (``assistant/data/declines.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from assistant.data_files import read_yaml


class DeclineReason(StrEnum):
    """Why a question is declined; the value is what the HTTP API reports as ``reason``."""

    NO_MATCH = "no_match"  # the guides do not answer it
    OTHER_REGION = "other_region"  # it asks for another region's rules
    OTHER_GROUP = "other_group"  # the matching item is for another group of applicants
    NOT_COVERED = "not_covered"  # the items found are for another act or another object
    UNSURE = "unsure"  # the best match is for another act, object or applicant; others might fit (asks back)
    PERSONAL_LOOKUP = "personal_lookup"  # one's own records or case: to be looked up, not answered
    CHATTER = "chatter"  # no service guide answers it by its nature (a joke, the weather)
    PERSONAL_DATA = "personal_data"  # someone's personal data
    INJECTION = "injection"  # an attempt to change the assistant's rules
    ABUSE = "abuse"


@dataclass(frozen=True)
class DeclineText:
    zh: str
    en: str
    handoff: bool  # the Chinese reply names the hotline and the window after the text


@lru_cache(maxsize=1)
def decline_texts() -> dict[DeclineReason, DeclineText]:
    reasons = read_yaml("declines.yaml")["reasons"]
    return {
        reason: DeclineText(zh=spec["zh"], en=spec["en"], handoff=spec["handoff"])
        for reason, spec in ((DeclineReason(name), spec) for name, spec in reasons.items())
    }


HOTLINE: str = read_yaml("declines.yaml")["handoff"]["hotline"]  # the citizens' service hotline
HANDOFF_WINDOW: str = read_yaml("declines.yaml")["handoff"]["window"]  # where staff help in person
