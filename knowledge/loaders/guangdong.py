"""The Guangdong provincial portal export (``TASK_CODE`` / ``TASK_NAME`` records).

Field mapping: ``shared/data/gd-items/README.md``. "无" means empty; "30(工作日)" is 30 working days.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from knowledge.loaders.base import Loaded
from knowledge.loaders.guides import guide_warnings
from knowledge.models import Guide, Material, Source

_DAYS = re.compile(r"(\d+)\s*[(（]?\s*(工作日|个工作日|日|天)?")
_LOCATION_PREFIX = re.compile(r"^\s*办理地点[:：]\s*")


def is_guangdong_record(record: Any) -> bool:
    return isinstance(record, dict) and "TASK_CODE" in record and "TASK_NAME" in record


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", "无", "null", "None") else text


def _texts(value: Any) -> list[str]:
    if isinstance(value, list):
        return [t for t in (_text(v) for v in value) if t]
    text = _text(value)
    return [text] if text else []


def parse_days(value: Any) -> int | None:
    text = _text(value)
    if text is None:
        return None
    if "即办" in text or "当场" in text:
        return 0
    match = _DAYS.match(text)
    return int(match.group(1)) if match else None


def _conditions(value: Any) -> list[str]:
    text = _text(value)
    if not text:
        return []
    parts = [
        p.strip(" ；;")
        for p in re.split(r"[\r\n]+|；(?=\s*[（(]?[0-9一二三四五六七八九十]+[、.．)）])", text)
    ]
    return [p for p in parts if p]


def guide_from_record(r: dict[str, Any]) -> Guide:
    name = _text(r.get("TASK_NAME")) or ""
    aliases: list[str] = []
    for key in (
        "CATANAME",
        "parentCatalogName",
        "subCatalogName",
        "matter_name",
        "matter_short",
        "matter_daily",
    ):
        alias = _text(r.get(key))
        if alias and alias != name and alias not in aliases:
            aliases.append(alias)
    consult, complain = _text(r.get("consult_phone")), _text(r.get("complain_phone"))
    phone = (
        "；".join(p for p in (consult and f"{consult}（咨询）", complain and f"{complain}（投诉）") if p)
        or None
    )
    window = _text(r.get("handle_location"))
    if window:
        window = _LOCATION_PREFIX.sub("", window)
    visits = _text(r.get("visit_number"))
    channels = ["窗口"]
    if _text(r.get("URL")):
        channels.append("网上")
    return Guide(
        id=str(r["TASK_CODE"]).strip(),
        name=name,
        aliases=aliases,
        category="、".join(_texts(r.get("theme_category"))) or None,
        type=_text(r.get("TASK_TYPE_TEXT")),
        department=_text(r.get("DEPT_NAME")),
        audience=_texts(r.get("service_object_name")),
        conditions=_conditions(r.get("accept_standard")),
        materials=[Material(name=m) for m in _texts(r.get("material_intro"))],
        legal_days=parse_days(r.get("handle_time")),
        promised_days=parse_days(r.get("handle_time_limit")),
        visits=int(visits) if visits and visits.isdigit() else None,
        online_url=_text(r.get("URL")),
        channels=channels,
        window=window,
        phone=phone,
        scope=_text(r.get("district")),
    )


def load_guangdong(records: list[Any], path: str) -> Loaded:
    loaded = Loaded(kind="guangdong")
    for n, record in enumerate(records, start=1):
        if not is_guangdong_record(record):
            loaded.errors.append(f"record #{n}: not a Guangdong item (no TASK_CODE/TASK_NAME)")
            continue
        try:
            guide = guide_from_record(record)
        except (ValidationError, ValueError) as exc:
            loaded.errors.append(f"record #{n}: {exc}".splitlines()[0])
            continue
        loaded.sources.append(Source(id=guide.id, kind="guide", title=guide.name, path=path, guide=guide))
        loaded.warnings.extend(guide_warnings(guide, record.get("URL")))
    return loaded
