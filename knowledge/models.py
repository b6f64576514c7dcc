"""The knowledge model: service guides, free-text documents, FAQ rows, and what search returns.

The guide schema is the contract in ``shared/spec/knowledge-format.md``; field names and meanings
follow it exactly. Two optional flags that real guides carry are added: ``promise`` (告知承诺制)
on a guide and on a material.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from halls.links import safe_link

SourceKind = Literal["guide", "document", "faq"]


def _scalar_as_text(value: Any) -> Any:
    """A text field written as a bare number or flag (``phone: 12348`` unquoted in YAML reads as an
    int; hotlines are written that way in real files) is that text. Lists and mappings stay as they
    are, for validation to refuse."""
    if isinstance(value, bool | int | float):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_scalar_as_text)]  # a guide's text field: str, or a bare scalar


class Material(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Text
    form: Text | None = None  # 原件 / 复印件 / 电子证照 / 原件和复印件
    copies: int | None = None
    required: bool = True
    tolerable: bool = False  # 容缺受理: may be handed in later
    promise: bool = False  # may be replaced by a signed 告知承诺书
    note: Text | None = None


class FaqPair(BaseModel):
    q: Text
    a: Text


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return value


class Guide(BaseModel):
    """One service guide (办事指南). Only ``id`` and ``name`` are required."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    category: Text | None = None
    type: Text | None = None
    department: Text | None = None
    audience: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list)
    legal_days: int | None = None
    promised_days: int | None = None
    fee: Text | None = None
    visits: int | None = None
    online_url: Text | None = None
    channels: list[str] = Field(default_factory=list)
    locations: list[str] = Field(default_factory=list)
    window: Text | None = None
    hours: Text | None = None
    phone: Text | None = None
    scope: Text | None = None
    basis: list[str] = Field(default_factory=list)
    bundle: list[str] = Field(default_factory=list)
    faq: list[FaqPair] = Field(default_factory=list)
    promise: bool = False
    updated: dt.date | None = None

    @field_validator("id", "name", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, int | float):
            value = str(value)
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise ValueError("must not be empty")
        return value

    @field_validator(
        "aliases",
        "audience",
        "conditions",
        "steps",
        "channels",
        "locations",
        "basis",
        "bundle",
        mode="before",
    )
    @classmethod
    def _list(cls, value: Any) -> Any:
        value = _as_list(value)
        if isinstance(value, list):
            return [str(v).strip() for v in value if v is not None and str(v).strip()]
        return value

    @field_validator("online_url")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        # an unsafe link is dropped, not refused: an index written before this check still loads,
        # and the loaders report the drop (knowledge.loaders.guides.guide_warnings)
        return safe_link(value)

    @field_validator("materials", mode="before")
    @classmethod
    def _materials(cls, value: Any) -> Any:
        value = _as_list(value)
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("faq", mode="before")
    @classmethod
    def _faq(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("updated", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value


class Document(BaseModel):
    """A free-text source: a Markdown notice, or text extracted from HTML/PDF/DOCX."""

    id: str
    title: str
    text: str
    category: str | None = None
    locations: list[str] = Field(default_factory=list)
    updated: dt.date | None = None

    @field_validator("locations", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        return _as_list(value)


class FaqRow(BaseModel):
    """One question/answer pair from an FAQ sheet."""

    id: str
    question: str
    answer: str
    guide_id: str | None = None
    category: str | None = None


class Source(BaseModel):
    """One loaded source, whatever its kind, with where it came from."""

    id: str
    kind: SourceKind
    title: str
    path: str
    guide: Guide | None = None
    document: Document | None = None
    faq: FaqRow | None = None

    @property
    def record(self) -> Guide | Document | FaqRow:
        return self.guide or self.document or self.faq  # type: ignore[return-value]


class Chunk(BaseModel):
    """A searchable passage of one source: a guide section, a document passage, an FAQ row."""

    id: str
    source_id: str
    kind: SourceKind
    title: str
    section: str
    text: str


class Hit(BaseModel):
    """One ranked search result: a source, the section that matched best, and its score."""

    id: str
    title: str
    kind: SourceKind
    section: str
    score: float  # the fused ranking score (relative to this question's other candidates)
    dense: float = 0.0  # best cosine similarity of a chunk of this source to the question
    lexical: float = 0.0  # best BM25 score of a chunk of this source
    text: str = ""
