"""Printable doorplates: export the demo places, then read every plate back as a phone would —
the PNG, the PDF and the SVG (drawn by a real Chromium) must all decode to the plate's URL."""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image
from reportlab.lib.pagesizes import A5

from doorplate.codes import PlateRegistry, format_code
from doorplate.export import export_plates
from halls.places import PlaceDirectory, load_places, save_places
from knowledge import demo_dir
from zhiyin.cli import main
from zhiyin.db import prepare_database
from zhiyin.services import Services
from zhiyin.settings import Settings, get_settings

PUBLIC_URL = "https://zhiyin.yunchuan.example/"
SVG = "{http://www.w3.org/2000/svg}"


def decode(image: Image.Image) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]


def read_csv(out_dir: Path) -> list[dict[str, str]]:
    with open(out_dir / "plates.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def new_registry(tmp: Path) -> PlateRegistry:
    return PlateRegistry(prepare_database(f"sqlite:///{tmp / 'plates.db'}"), secrets.token_bytes(32))


@pytest.fixture(scope="module")
def places():
    return load_places(demo_dir() / "places.yaml")


@pytest.fixture(scope="module")
def exported(places, tmp_path_factory) -> tuple[Path, dict[str, dict[str, str]]]:
    """The 22 demo places exported once; place id → its plates.csv row."""
    tmp = tmp_path_factory.mktemp("plates")
    report = export_plates(places, new_registry(tmp), PUBLIC_URL, tmp / "out")
    assert report.count == len(places) == 22 and report.out_dir == tmp / "out"
    return report.out_dir, {row["place_id"]: row for row in read_csv(report.out_dir)}


def test_csv_lists_every_place_in_order_with_its_code_and_url(places, exported):
    out_dir, _ = exported
    lines = (out_dir / "plates.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "place_id,code,url"
    rows = read_csv(out_dir)
    assert [r["place_id"] for r in rows] == [p.id for p in places]
    for row in rows:
        assert len(row["code"]) == 12
        assert row["url"] == f"https://zhiyin.yunchuan.example/p/{row['code']}"
    assert len({r["code"] for r in rows}) == 22


def test_every_place_gets_svg_pdf_and_png(places, exported):
    out_dir, _ = exported
    for place in places:
        for name in (f"{place.id}.svg", f"{place.id}.pdf", f"{place.id}-qr.png"):
            assert (out_dir / name).stat().st_size > 500, name
    assert not list(out_dir.glob(".*.tmp"))


def test_qr_png_decodes_to_the_url_with_high_error_correction(exported):
    out_dir, rows = exported
    for place_id, row in rows.items():
        found = zxingcpp.read_barcodes(Image.open(out_dir / f"{place_id}-qr.png"))
        assert [(b.text, b.ec_level) for b in found] == [(row["url"], "H")]


def test_pdf_is_an_a5_page_whose_qr_decodes_to_the_url(exported):
    out_dir, rows = exported
    for place_id, row in rows.items():
        pdf = pdfium.PdfDocument(out_dir / f"{place_id}.pdf")
        assert len(pdf) == 1
        page = pdf[0]
        assert page.get_size() == pytest.approx(A5, abs=0.01)
        assert decode(page.render(scale=2).to_pil()) == [row["url"]]
        assert format_code(row["code"]) in page.get_textpage().get_text_range()
        pdf.close()


def test_svg_is_a5_xml_with_name_and_code(places, exported):
    out_dir, rows = exported
    for place in places:
        root = ET.parse(out_dir / f"{place.id}.svg").getroot()
        assert root.get("width") == "148mm" and root.get("height") == "210mm"
        assert root.get("viewBox") == "0 0 148 210"
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert "数字政务门牌" in texts and "政务服务热线 12345" in texts
        assert format_code(rows[place.id]["code"]) in texts
        # a long name is wrapped onto two lines, broken at a space or before a bracket
        assert place.name.replace(" ", "") in "".join(texts).replace(" ", "")
        assert len(list(root.iter(f"{SVG}path"))) == 1  # the QR is one path


def test_svg_drawn_by_chromium_decodes_to_the_url(exported, browser):
    out_dir, rows = exported
    page = browser.new_page(viewport={"width": 560, "height": 794})  # A5 at 96 dpi
    try:
        for place_id, row in rows.items():
            page.goto((out_dir / f"{place_id}.svg").as_uri())
            shot = Image.open(io.BytesIO(page.screenshot()))
            assert decode(shot) == [row["url"]], place_id
    finally:
        page.close()


def test_export_again_keeps_codes_and_reissue_changes_one(places, tmp_path):
    registry = new_registry(tmp_path)
    export_plates(places, registry, PUBLIC_URL, tmp_path / "out")
    first = read_csv(tmp_path / "out")
    export_plates(places, registry, PUBLIC_URL, tmp_path / "out", workers=1)
    assert read_csv(tmp_path / "out") == first

    new_code = registry.reissue("yc-taoxi")
    export_plates(places, registry, PUBLIC_URL, tmp_path / "out")
    again = read_csv(tmp_path / "out")
    changed = [(a["place_id"], b["code"]) for a, b in zip(first, again, strict=True) if a != b]
    assert changed == [("yc-taoxi", new_code)]
    assert format_code(new_code) in (tmp_path / "out" / "yc-taoxi.svg").read_text(encoding="utf-8")


@pytest.fixture
def run_cli(data_dir):
    """``zhiyin …`` in-process, with a fresh data dir and no ZHIYIN_* settings from outside."""
    env = {k: None for k in os.environ if k.startswith("ZHIYIN_")} | {"ZHIYIN_DATA_DIR": str(data_dir)}
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(main, list(args), env=env)
    get_settings.cache_clear()


def test_cli_export_needs_places_and_known_ids(run_cli, data_dir, places, tmp_path):
    empty = run_cli("plates", "export", "--kb", "demo", "--out", str(tmp_path / "out"))
    assert empty.exit_code == 2 and "zhiyin ingest --demo" in empty.stderr

    save_places(places, Services(Settings(data_dir=data_dir)).places_file("demo"))
    unknown = run_cli("plates", "export", "--kb", "demo", "--place", "unknown-id", "--place", "yc-taoxi")
    assert unknown.exit_code == 2 and "unknown-id" in unknown.stderr and "yc-taoxi" not in unknown.stderr
    assert "Traceback" not in unknown.output

    out = tmp_path / "out"
    ok = run_cli("plates", "export", "--kb", "demo", "--place", "yc-taoxi", "--out", str(out))
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"Exported 1 plates to {out} in ")
    [row] = read_csv(out)
    assert row["place_id"] == "yc-taoxi" and row["url"] == f"http://localhost:8000/p/{row['code']}"
    assert sorted(p.name for p in out.iterdir()) == [
        "plates.csv",
        "yc-taoxi-qr.png",
        "yc-taoxi.pdf",
        "yc-taoxi.svg",
    ]


def test_cli_revoke_reissue_and_stats(run_cli, data_dir, places, tmp_path):
    save_places(places, Services(Settings(data_dir=data_dir)).places_file("default"))
    out = tmp_path / "out"
    assert run_cli("plates", "export", "--place", "yc-taoxi", "--out", str(out)).exit_code == 0
    [old] = read_csv(out)

    assert "no scans" in run_cli("plates", "stats").stdout
    registry = Services(Settings(data_dir=data_dir)).plates
    registry.record_scan(registry.verify(old["code"]))
    registry.record_scan(registry.verify("AAAAAAAAAAAA"))
    table = run_cli("plates", "stats").stdout
    assert old["code"] in table and "yc-taoxi" in table and "forged" in table and "suspicious" in table

    revoked = run_cli("plates", "revoke", "yc-taoxi", "--reissue")
    assert revoked.exit_code == 0 and f"revoked {old['code']}" in revoked.stdout
    assert registry.verify(old["code"]).outcome == "revoked"
    run_cli("plates", "export", "--place", "yc-taoxi", "--out", str(out))
    [new] = read_csv(out)
    assert new["code"] != old["code"] and registry.verify(new["code"]).ok
    assert run_cli("plates", "revoke", "yc-nowhere").exit_code == 1


def test_cli_lists_places_as_a_tree(run_cli, data_dir, places):
    assert run_cli("places", "list").exit_code == 1  # nothing ingested yet: says so
    save_places(places, Services(Settings(data_dir=data_dir)).places_file("default"))
    lines = run_cli("places", "list").stdout.splitlines()
    assert len(lines) == 22
    assert lines[0].startswith("yc-center ") and "云川市政务服务中心" in lines[0]
    assert lines[1].startswith("  yc-center-a ")  # a zone, indented under its hall
    listed = json.loads(run_cli("places", "list", "--json").stdout)
    assert [p["id"] for p in listed] == [p.id for p in places]


def test_a_plate_promises_booking_and_numbers_only_where_the_place_has_them(places, exported, tmp_path):
    out_dir, _ = exported
    plate = lambda place_id: (out_dir / f"{place_id}.svg").read_text(encoding="utf-8")  # noqa: E731
    assert "预约 · 叫号" in plate("yc-center") and "预约 · 叫号" in plate("yc-center-c")  # a zone: its hall's
    assert "预约" not in plate("yc-taoxi-lihua") and "扫码办事" in plate(
        "yc-taoxi-lihua"
    )  # a village station
    # a zone exported alone still knows its hall takes bookings, given the place tree
    zone = [p for p in places if p.id == "yc-center-c"]
    export_plates(
        zone, new_registry(tmp_path), PUBLIC_URL, tmp_path / "one", directory=PlaceDirectory(places)
    )
    assert "预约 · 叫号" in (tmp_path / "one" / "yc-center-c.svg").read_text(encoding="utf-8")
