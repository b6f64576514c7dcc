"""What can be handled where: the knowledge base's guides seen through the place tree."""

from __future__ import annotations

from dataclasses import dataclass

from halls.places import Place, PlaceDirectory
from knowledge import SourceStore
from knowledge.chunking import days_text, material_line
from knowledge.models import Guide
from knowledge.text import fold

OTHER_THEME = "其他事项"


@dataclass(frozen=True)
class Theme:
    name: str
    guides: list[Guide]


class ServiceCatalog:
    """Guides per place, grouped by theme. Follows the knowledge base when it is re-ingested; needs
    neither the embedding model nor the vector index (an empty knowledge base lists nothing)."""

    def __init__(self, store: SourceStore, directory: PlaceDirectory):
        self.store = store
        self.directory = directory
        self._version: int | None = None
        self._guides: list[Guide] = []

    def guides(self) -> list[Guide]:
        version = self.store.version
        if version != self._version:
            self._guides = [s.guide for s in self.store.sources().values() if s.guide is not None]
            self._version = version
        return self._guides

    def guide(self, guide_id: str) -> Guide | None:
        source = self.store.get(guide_id)
        return source.guide if source else None

    def items_at(self, place_id: str) -> list[Guide]:
        """Guides handled at the place or anywhere inside it (a hall lists its windows' items)."""
        inside = self.directory.subtree(place_id)
        return [g for g in self.guides() if inside.intersection(g.locations)]

    def themes_at(self, place_id: str, query: str = "") -> list[Theme]:
        """The place's guides grouped by theme, optionally only those whose name matches ``query``."""
        needle = fold(query.strip())
        groups: dict[str, list[Guide]] = {}
        for guide in self.items_at(place_id):
            haystack = fold(" ".join([guide.name, *guide.aliases, guide.category or ""]))
            if needle and needle not in haystack:
                continue
            groups.setdefault(guide.category or OTHER_THEME, []).append(guide)
        return [Theme(name, sorted(gs, key=lambda g: g.name)) for name, gs in sorted(groups.items())]

    def windows_for(self, guide: Guide, place: Place | None) -> list[Place]:
        """Where to go for this guide: its listed places inside ``place`` (or ``place`` itself when it
        handles the guide); without a place, all of them."""
        listed = [p for p in (self.directory.get(i) for i in guide.locations) if p is not None]
        if place is None:
            return listed
        inside = self.directory.subtree(place.id)
        here = [p for p in listed if p.id in inside]
        if here:
            return here
        return [place] if self.directory.handles(place.id, guide.locations) else []

    def place_summary(self, place: Place) -> dict:
        """The place as ``GET /api/places`` shows it."""
        return {
            **place.model_dump(mode="json"),
            "items": [g.id for g in self.items_at(place.id)],
            "children": [p.id for p in self.directory.children(place.id)],
        }


def one_time_notice(guide: Guide, windows: list[Place]) -> str:
    """一次性告知单 as plain text, to save on a phone or print anywhere."""
    lines = [f"一次性告知单：{guide.name}", ""]
    if guide.materials:
        lines.append("需要准备的材料：")
        lines += [f"  {n}. {material_line(m)}" for n, m in enumerate(guide.materials, start=1)]
    else:
        lines.append("申请材料：指南未列明，请咨询窗口。")
    where = "；".join(f"{w.name}（{w.address}）" if w.address else w.name for w in windows)
    lines.append(f"办理地点：{where or guide.window or '请拨打12345咨询'}")
    if guide.hours:
        lines.append(f"办公时间：{guide.hours}")
    lines.append(f"承诺时限：{days_text(guide.promised_days) or '请咨询窗口'}")
    lines.append(f"收费：{guide.fee or '请咨询窗口'}")
    if guide.online_url:
        lines.append(f"网上办理：{guide.online_url}")
    lines.append(f"咨询：{guide.phone + '；' if guide.phone else ''}政务服务热线 12345")
    return "\n".join(lines) + "\n"
