"""Places (halls, zones, windows, township centres, village stations) and the places file.

The file format (``knowledge/demo/places.yaml`` is an example)::

    places:
      - id: yc-center              # stable id, referenced by guides' ``locations``
        name: 云川市政务服务中心
        kind: hall                 # hall | zone | window | district_hall | township | village
        parent: null               # id of the enclosing place
        address: …
        lat: 28.2012               # WGS-84
        lng: 112.9634
        hours: 周一至周五 9:00-17:00
        phone: 0999-1234567
        description: …             # optional
        video_help: https://…      # optional
        booking: true              # optional: appointments here (structured: halls/booking_config.py)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from sqlalchemy import DateTime, String, Text, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from halls.booking_config import BookingConfig, booking_from_place_record
from halls.links import LINK_RULE, safe_link
from halls.sql import Base, utcnow

log = logging.getLogger(__name__)

PlaceKind = Literal["hall", "zone", "window", "district_hall", "township", "village"]


class Place(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    kind: PlaceKind
    parent: str | None = None
    address: str | None = None
    lat: float | None = None
    lng: float | None = None
    hours: str | None = None
    phone: str | None = None
    description: str | None = None
    video_help: str | None = None
    booking: BookingConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _booking_shorthand(cls, data):
        # `booking: true` in older files and hand-edited ones: the defaults, with the place's hours
        if isinstance(data, dict) and isinstance(data.get("booking"), bool):
            data = {**data, "booking": booking_from_place_record(data["booking"], data.get("hours"))}
        return data

    @field_validator("video_help")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        return safe_link(value)  # dropped, not refused: load_places says so, saved places still load


class PlacesError(ValueError):
    pass


def load_places(path: Path) -> list[Place]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PlacesError(f"cannot read places file {path}: {exc}") from exc
    records = data.get("places") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise PlacesError(f"{path}: expected a list under 'places'")
    places: list[Place] = []
    seen: set[str] = set()
    for n, record in enumerate(records, start=1):
        try:
            place = Place.model_validate(record)
        except ValidationError as exc:
            raise PlacesError(
                f"{path}: place #{n}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
            ) from exc
        given_link = record.get("video_help") if isinstance(record, dict) else None
        if given_link and str(given_link).strip() and place.video_help is None:
            log.warning("%s: place %s: video_help %.80r dropped: %s", path, place.id, given_link, LINK_RULE)
        if place.id in seen:
            raise PlacesError(f"{path}: duplicate place id {place.id}")
        seen.add(place.id)
        places.append(place)
    for place in places:
        if place.parent and place.parent not in seen:
            raise PlacesError(f"{path}: place {place.id} has unknown parent {place.parent}")
    return places


def save_places(places: list[Place], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([p.model_dump(mode="json") for p in places], ensure_ascii=False, indent=1))
    tmp.replace(path)


def read_saved_places(path: Path) -> list[Place]:
    if not path.exists():
        return []
    return [Place.model_validate(p) for p in json.loads(path.read_text())]


@dataclass(frozen=True)
class _Tree:
    places: list[Place]
    by_id: dict[str, Place]
    children: dict[str, list[Place]]

    @classmethod
    def of(cls, places: Iterable[Place]) -> _Tree:
        listed = list(places)
        children: dict[str, list[Place]] = {}
        for p in listed:
            if p.parent:
                children.setdefault(p.parent, []).append(p)
        return cls(listed, {p.id: p for p in listed}, children)


class PlaceDirectory:
    """The places of a knowledge base as a tree: who stands in whom, what is near, who handles what."""

    def __init__(self, places: Iterable[Place]):
        self._tree = _Tree.of(places)

    @classmethod
    def saved(cls, path: Path) -> PlaceDirectory:
        """The places an ingest saved (``read_saved_places``), read again whenever an ingest
        replaces the file: a running server follows a new window or new hours as it follows a
        re-ingested guide."""
        return SavedPlaceDirectory(path)

    def _current(self) -> _Tree:
        return self._tree

    @property
    def places(self) -> list[Place]:
        return self._current().places

    @property
    def _by_id(self) -> dict[str, Place]:
        return self._current().by_id

    @property
    def _children(self) -> dict[str, list[Place]]:
        return self._current().children

    def __len__(self) -> int:
        return len(self.places)

    def __contains__(self, place_id: object) -> bool:
        return place_id in self._by_id

    def get(self, place_id: str | None) -> Place | None:
        return self._by_id.get(place_id) if place_id else None

    def children(self, place_id: str) -> list[Place]:
        return list(self._children.get(place_id, []))

    def descendants(self, place_id: str) -> list[Place]:
        found, todo = [], list(self._children.get(place_id, []))
        while todo:
            place = todo.pop(0)
            found.append(place)
            todo.extend(self._children.get(place.id, []))
        return found

    def ancestors(self, place_id: str) -> list[Place]:
        """Parent first, the root last (a cycle in a hand-edited file stops the walk)."""
        chain, seen = [], {place_id}
        current = self.get(self._by_id[place_id].parent) if place_id in self._by_id else None
        while current is not None and current.id not in seen:
            chain.append(current)
            seen.add(current.id)
            current = self.get(current.parent)
        return chain

    def handles(self, place_id: str, locations: Iterable[str]) -> bool:
        """The place handles an item listed for it or any place inside it (a hall, for its zones'
        windows), or — for a zone or window — for the hall it stands in. A village station does not
        handle its township's items."""
        chain, current = set(), self.get(place_id)
        while current is not None and current.id not in chain:
            chain.add(current.id)
            inside = current.kind in ("zone", "window")
            current = self.get(current.parent) if inside else None
        return bool(set(locations) & (chain | self.subtree(place_id)))

    def where_inside(self, place_id: str, locations: Iterable[str]) -> list[Place]:
        """The zones and windows inside ``place_id`` an item is listed for, in file order (not the
        village stations of a township: they are other places)."""
        inside = self.subtree(place_id) - {place_id}
        listed = set(locations)
        return [p for p in self.places if p.id in inside and p.id in listed and p.kind in ("zone", "window")]

    def subtree(self, place_id: str) -> set[str]:
        """The place and every place inside it: an item listed for any of them is on its list."""
        return {place_id} | {p.id for p in self.descendants(place_id)}

    def nearest(self, origin: Place, candidate_ids: Iterable[str]) -> Place | None:
        candidates = [self._by_id[i] for i in candidate_ids if i in self._by_id]
        if not candidates:
            return None
        return min(candidates, key=lambda p: distance_km(origin, p))

    def nearby(self, origin: Place) -> list[Place]:
        """Other service points, by the hierarchy: siblings, then the parent's siblings and the
        parent, then the rest; zones and windows of other halls are left out (their hall stands for
        them). Ties are broken by distance."""
        lineage = [origin.id] + [p.id for p in self.ancestors(origin.id)]

        def closeness(p: Place) -> tuple[int, float]:
            shared = next((n for n, a in enumerate(lineage) if a == p.parent or a == p.id), len(lineage))
            return shared, distance_km(origin, p)

        own = {p.id for p in self.descendants(origin.id)} | {origin.id}
        points = [
            p
            for p in self.places
            if p.id not in own
            and (p.kind not in ("zone", "window") or p.parent in lineage or p.parent in own)
        ]
        return sorted(points, key=closeness)


class SavedPlaceDirectory(PlaceDirectory):
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._tree = _Tree.of([])
        self._current()

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino  # save_places replaces the file: a new inode

    def _current(self) -> _Tree:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        self._tree = _Tree.of(read_saved_places(self.path))
                    except (OSError, ValueError) as exc:  # a hand-edited file: keep serving the last good one
                        log.warning(
                            "places file %s not read, keeping the previous places: %s", self.path, exc
                        )
                    self._stamp = stamp
        return self._tree


class KbPlaces(Base):
    """A knowledge base's places, when knowledge bases live in the database (several servers)."""

    __tablename__ = "kb_places"
    kb: Mapped[str] = mapped_column(String(41), primary_key=True)
    places: Mapped[str] = mapped_column(Text)  # JSON, as save_places writes the file
    changed: Mapped[dt.datetime] = mapped_column(DateTime)


def save_db_places(engine: Engine, kb: str, places: list[Place]) -> None:
    """Replace knowledge base ``kb``'s places in the database (every server follows within seconds)."""
    row = {
        "places": json.dumps([p.model_dump(mode="json") for p in places], ensure_ascii=False),
        "changed": utcnow(),
    }
    table = KbPlaces.__table__
    with engine.begin() as conn:
        if conn.execute(update(table).where(table.c.kb == kb).values(**row)).rowcount == 0:
            conn.execute(insert(table).values(kb=kb, **row))


class DbPlaceDirectory(PlaceDirectory):
    """The places of knowledge base ``kb`` in the database, polled at most every ``poll_seconds``
    (not once per request), read again when an ingest anywhere replaces them."""

    def __init__(self, engine: Engine, kb: str, poll_seconds: float = 2.0):
        self.engine = engine
        self.kb = kb
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._polled: float | None = None
        self._changed: dt.datetime | None = None
        self._tree = _Tree.of([])
        self._current()

    def _current(self) -> _Tree:
        polled = self._polled
        if polled is not None and time.monotonic() - polled < self.poll_seconds:
            return self._tree
        with self._lock:
            if self._polled is None or time.monotonic() - self._polled >= self.poll_seconds:
                try:
                    self._refresh()
                except (SQLAlchemyError, ValueError) as exc:  # keep serving the last good places
                    log.warning("places of %s not read, keeping the previous places: %s", self.kb, exc)
                self._polled = time.monotonic()
        return self._tree

    def _refresh(self) -> None:
        with self.engine.connect() as conn:
            changed = conn.execute(select(KbPlaces.changed).where(KbPlaces.kb == self.kb)).scalar()
            if changed is None or changed == self._changed:
                return
            saved = conn.execute(select(KbPlaces.places).where(KbPlaces.kb == self.kb)).scalar_one()
        self._tree = _Tree.of(Place.model_validate(p) for p in json.loads(saved))
        self._changed = changed


def distance_km(a: Place, b: Place) -> float:
    """Great-circle distance; places without coordinates are infinitely far."""
    if a.lat is None or a.lng is None or b.lat is None or b.lng is None:
        return math.inf
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlng = lat2 - lat1, math.radians(b.lng - a.lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))
