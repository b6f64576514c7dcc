"""What every loader returns, and the error a loader raises for a file it must skip."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.models import Source


class SkipFile(Exception):
    """The whole file cannot be used; the message is the reason shown to the user."""


@dataclass
class Loaded:
    kind: str  # a label for the report: "guide", "guangdong", "markdown", "faq-sheet", ...
    sources: list[Source] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # usable, but worth a look
    errors: list[str] = field(default_factory=list)  # part of the file could not be used
