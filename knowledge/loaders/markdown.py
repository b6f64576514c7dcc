"""Free-text Markdown documents with optional YAML front matter."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from knowledge.loaders.base import Loaded, SkipFile
from knowledge.loaders.limits import check_document_chars
from knowledge.models import Document, Source

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.M)


def load_markdown(text: str, path: Path) -> Loaded:
    meta: dict = {}
    body = text
    match = _FRONT.match(text)
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise SkipFile(f"malformed front matter: {getattr(exc, 'problem', exc)}") from exc
        if not isinstance(meta, dict):
            raise SkipFile("front matter is not a mapping of fields")
        body = text[match.end() :]
    if not body.strip():
        raise SkipFile("document has no text")
    check_document_chars(len(body.strip()))
    heading = _H1.search(body)
    title = str(meta.get("title") or (heading.group(1) if heading else path.stem))
    try:
        doc = Document(
            id=str(meta.get("id") or path.stem),
            title=title,
            text=body.strip(),
            category=meta.get("category"),
            locations=meta.get("locations") or [],
            updated=meta.get("updated"),
        )
    except ValidationError as exc:
        raise SkipFile(f"bad front matter: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    return Loaded(
        kind="markdown",
        sources=[Source(id=doc.id, kind="document", title=doc.title, path=str(path), document=doc)],
    )
