"""Service guides in YAML or JSON: one guide per file, or a list of guides."""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import ValidationError

from halls.links import LINK_RULE
from knowledge.loaders.base import Loaded, SkipFile
from knowledge.models import Guide, Source


def parse_structured(text: str, suffix: str) -> Any:
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}"
        elif isinstance(exc, json.JSONDecodeError):
            where = f" at line {exc.lineno}"
        raise SkipFile(
            f"malformed {suffix.lstrip('.').upper()}{where}: {getattr(exc, 'problem', None) or exc}"
        ) from exc


def _describe(error: ValidationError) -> str:
    parts = []
    for e in error.errors()[:3]:
        loc = ".".join(str(p) for p in e["loc"]) or "guide"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def guide_warnings(guide: Guide, given_online_url: Any = None) -> list[str]:
    """What is worth a look in a usable guide; ``given_online_url`` is the link as the file gave it."""
    warnings = []
    if not guide.materials:
        warnings.append(f"guide {guide.id} ({guide.name}) lists no materials")
    if given_online_url and str(given_online_url).strip() and guide.online_url is None:
        warnings.append(
            f"guide {guide.id} ({guide.name}): online_url {str(given_online_url)[:80]!r} dropped: {LINK_RULE}"
        )
    return warnings


def load_guides(data: Any, path: str) -> Loaded:
    records = data if isinstance(data, list) else [data]
    if not records or data is None:
        raise SkipFile("no guide in file")
    loaded = Loaded(kind="guide")
    for n, record in enumerate(records, start=1):
        label = f"guide #{n}" if len(records) > 1 else "guide"
        if not isinstance(record, dict):
            loaded.errors.append(f"{label}: not a mapping of fields")
            continue
        try:
            guide = Guide.model_validate(record)
        except ValidationError as exc:
            loaded.errors.append(f"{label}: {_describe(exc)}")
            continue
        loaded.sources.append(Source(id=guide.id, kind="guide", title=guide.name, path=path, guide=guide))
        loaded.warnings.extend(guide_warnings(guide, record.get("online_url")))
    if not loaded.sources and loaded.errors:
        raise SkipFile("; ".join(loaded.errors[:3]))
    return loaded
