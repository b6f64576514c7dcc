"""Export print files for a batch of places: a plate (SVG and PDF) and the QR (PNG) per place,
and ``plates.csv`` telling which code and URL each place got."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from doorplate.booking import booking_place
from doorplate.codes import PlateRegistry
from doorplate.render import plate_pdf, plate_svg, qr_png
from halls.places import Place, PlaceDirectory

_FILE_NAME = re.compile(r"[\w-][\w.-]*")  # a place id must not reach outside out_dir


@dataclass(frozen=True)
class ExportReport:
    count: int
    out_dir: Path
    seconds: float


@dataclass(frozen=True)
class _Plate:
    place: Place
    code: str
    url: str
    bookable: bool  # the place (or the hall it stands in) takes bookings: the plate may promise them


def _write(path: Path, data: bytes) -> None:
    # a half-written plate must never be sent to the printer: write aside, then rename
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _render(plate: _Plate, out_dir: Path) -> None:
    place_id = plate.place.id
    _write(
        out_dir / f"{place_id}.svg", plate_svg(plate.place, plate.url, plate.code, plate.bookable).encode()
    )
    _write(out_dir / f"{place_id}.pdf", plate_pdf(plate.place, plate.url, plate.code, plate.bookable))
    _write(out_dir / f"{place_id}-qr.png", qr_png(plate.url))


def export_plates(
    places: list[Place],
    registry: PlateRegistry,
    public_url: str,
    out_dir: Path,
    workers: int | None = None,
    directory: PlaceDirectory | None = None,
) -> ExportReport:
    """Issue (or reuse) each place's code and write ``{id}.svg``, ``{id}.pdf``, ``{id}-qr.png``
    and ``plates.csv`` (place_id,code,url in input order) into ``out_dir``. ``directory``: the whole
    place tree, which tells whether a zone's hall takes bookings (default: the places given)."""
    started = time.perf_counter()
    for place in places:
        if not _FILE_NAME.fullmatch(place.id):
            raise ValueError(f"place id {place.id!r} cannot be used as a file name")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = public_url.rstrip("/")
    # codes first, one after another in this process: the registry stays the only writer
    tree = directory or PlaceDirectory(places)
    plates = []
    for place in places:
        code = registry.issue(place.id)
        bookable = booking_place(tree, place.id) is not None
        plates.append(_Plate(place, code, f"{base}/p/{code}", bookable))

    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(plates) > 1:
        # rendering is CPU-bound pure Python (QR mask scoring, PDF writing): one process per core
        with ProcessPoolExecutor(min(workers, len(plates))) as pool:
            chunk = max(1, len(plates) // (4 * workers))
            list(pool.map(_render, plates, repeat(out_dir), chunksize=chunk))
    else:
        for plate in plates:
            _render(plate, out_dir)

    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["place_id", "code", "url"])
    writer.writerows([p.place.id, p.code, p.url] for p in plates)
    _write(out_dir / "plates.csv", table.getvalue().encode("utf-8"))
    return ExportReport(len(plates), out_dir, time.perf_counter() - started)
