"""Plate codes: stable per place, signed, revocable; scans counted without personal data."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from doorplate.codes import ALPHABET, CODE_LEN, PlateRegistry, format_code
from zhiyin.db import prepare_database


@pytest.fixture
def registry(tmp_path) -> PlateRegistry:
    return PlateRegistry(prepare_database(f"sqlite:///{tmp_path / 'plates.db'}"), b"secret-one")


def test_a_place_keeps_its_code(registry):
    code = registry.issue("yc-center")
    assert len(code) == CODE_LEN and set(code) <= set(ALPHABET)
    assert registry.issue("yc-center") == code  # exporting again never needs a reprint
    assert registry.issue("yc-taoxi") != code
    verdict = registry.verify(code)
    assert verdict.ok and verdict.place_id == "yc-center"


def test_codes_are_read_as_people_type_them(registry):
    code = registry.issue("yc-center")
    typed = format_code(code).lower().replace("0", "o").replace("1", "l")
    assert registry.verify(typed).place_id == "yc-center"


def test_a_forged_or_mistyped_code_is_recognised(registry):
    code = registry.issue("yc-center")
    flipped = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert registry.verify(flipped).outcome == "forged"
    assert registry.verify(code[:-1]).outcome == "forged"  # a character short
    assert registry.verify("<script>alert(1)</script>") == registry.verify("<script>alert(1)</script>")
    assert registry.verify("<script>").code == ""  # nothing attacker-shaped is kept
    # a code signed with another server's secret is a forgery here
    other = PlateRegistry(registry.engine, b"secret-two")
    assert other.verify(code).outcome == "forged"


def test_a_signed_code_that_was_never_issued_is_unknown(registry):
    never_issued = registry._new_code()
    assert registry.signed(never_issued)
    assert registry.verify(never_issued).outcome == "unknown"


def test_revoke_and_reissue(registry):
    old = registry.issue("yc-center")
    assert registry.revoke("yc-center") == [old]
    revoked = registry.verify(old)
    assert revoked.outcome == "revoked" and revoked.place_id == "yc-center"
    assert registry.active("yc-center") is None
    new = registry.reissue("yc-center")
    assert new != old and registry.verify(new).ok and registry.verify(old).outcome == "revoked"
    assert registry.active_codes()["yc-center"] == new


def test_concurrent_issuing_gives_one_active_code(registry):
    with ThreadPoolExecutor(8) as pool:
        codes = set(pool.map(lambda _: registry.issue("yc-baisha"), range(16)))
    assert len(codes) == 1


def test_scans_are_counted_per_code_day_and_outcome(registry):
    code = registry.issue("yc-center")
    today, yesterday = dt.date.today(), dt.date.today() - dt.timedelta(days=1)
    for _ in range(3):
        registry.record_scan(registry.verify(code))
    registry.record_scan(registry.verify(code), day=yesterday)
    registry.record_scan(registry.verify("ZZZZZZZZZZZZ"))
    with ThreadPoolExecutor(4) as pool:  # concurrent first scans of a day all count
        list(
            pool.map(
                lambda _: registry.record_scan(registry.verify(code), day=today - dt.timedelta(days=5)),
                range(8),
            )
        )
    rows = registry.stats()
    counts = {(r["day"], r["code"], r["outcome"]): r["scans"] for r in rows}
    assert counts[(today.isoformat(), code, "ok")] == 3
    assert counts[(yesterday.isoformat(), code, "ok")] == 1
    assert counts[((today - dt.timedelta(days=5)).isoformat(), code, "ok")] == 8
    assert counts[(today.isoformat(), "", "forged")] == 1
    assert registry.totals() == {"ok": 12, "forged": 1}
    assert {r["day"] for r in registry.stats(since=yesterday)} == {today.isoformat(), yesterday.isoformat()}
    assert set(rows[0]) == {"day", "code", "place_id", "outcome", "scans"}  # nothing about the scanner


def test_random_codes_are_counted_in_one_row_a_day_not_one_each(registry):
    """Issue 15, item 10: every random code on /p/ added a plate_scans row."""
    from sqlalchemy import select

    from doorplate.models import PlateScan

    revoked = registry.issue("yc-taoxi")
    registry.revoke("yc-taoxi")
    for n in range(50):
        registry.record_scan(registry.verify(f"ABCDEFGH{n:04d}"))  # well shaped, badly signed
        registry.record_scan(registry.verify(f"junk-{n}"))
    registry.record_scan(registry.verify(registry._new_code()))  # signed, but never issued
    registry.record_scan(registry.verify(revoked))
    with registry.engine.connect() as conn:
        rows = conn.execute(select(PlateScan.code, PlateScan.outcome, PlateScan.count)).all()
    assert sorted(rows) == [("", "forged", 100), ("", "unknown", 1), (revoked, "revoked", 1)]
