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
        booking: true              # optional: appointments can be booked here
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

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
    booking: bool = False


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
    tmp.write_text(json.dumps([p.model_dump() for p in places], ensure_ascii=False, indent=1))
    tmp.replace(path)


def read_saved_places(path: Path) -> list[Place]:
    if not path.exists():
        return []
    return [Place.model_validate(p) for p in json.loads(path.read_text())]
