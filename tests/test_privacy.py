"""No phone or ID number rests anywhere in clear (issue 15, item 1): a visitor chats and books with
them in every form people type — plain, full-width, in groups, with +86 — and afterwards no table,
no SQLite WAL, no file of the data dir and no log line holds the digits."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from booking_helpers import CARD, CARD_LOST, ELDER_ALLOWANCE, MONDAY, Clock
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from halls.privacy import mask
from zhiyin.app import create_app
from zhiyin.db import shared_engine
from zhiyin.services import Services

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
CHAT_ID, CHAT_PHONE = "220102199001011234", "13812345678"  # as in the issue (the ID's check digit is off)
BOOK_IDS = ("220102198512125671", "220102199001011239", "11010519491231002X")  # valid check digits
BOOK_PHONES = ("13912340001", "13712349876", "15098761234")


def id_forms(number: str) -> list[str]:
    spaced = f"{number[:6]} {number[6:14]} {number[14:]}"
    return [number, number.translate(FULL_WIDTH), spaced, spaced.translate(FULL_WIDTH)]


def phone_forms(number: str) -> list[str]:
    spaced = f"{number[:3]} {number[3:7]} {number[7:]}"
    return [number, number.translate(FULL_WIDTH), spaced, f"+86 {spaced}", spaced.translate(FULL_WIDTH)]


def forbidden() -> set[str]:
    """Every form of every number typed, and the birth dates inside the ID numbers."""
    found: set[str] = set()
    for number in (CHAT_ID, *BOOK_IDS):
        found.update(id_forms(number))
        found.add(number[6:14])
    for number in (CHAT_PHONE, *BOOK_PHONES):
        found.update(phone_forms(number))
    return found


CHAT_MESSAGES = [
    f"我身份证号{CHAT_ID}，电话{CHAT_PHONE}",
    f"电话{CHAT_PHONE.translate(FULL_WIDTH)}，身份证丢了怎么补办",
    f"身份证号 {id_forms(CHAT_ID)[2]} 要补办",
    f"我的手机 {phone_forms(CHAT_PHONE)[3]}，身份证{id_forms(CHAT_ID)[3]}",
    f"ID{CHAT_ID}社保卡怎么办",
]


@pytest.fixture
def private_app(demo_settings, tmp_path):
    """The demo server on a copy of the demo data dir (index, places) with its own SQLite database."""
    source = Path(demo_settings.data_dir)
    data = tmp_path / "data"
    shutil.copytree(source, data, ignore=shutil.ignore_patterns("zhiyin.db*", "*.lock"))
    settings = demo_settings.model_copy(update={"data_dir": data, "database_url": None})
    app = create_app(Services(settings))
    app.state.services.bookings.clock = Clock(MONDAY, 10)
    yield app, data, settings.database
    shared_engine(settings.database).dispose()


def test_mask_covers_every_form_people_type():
    for number in (CHAT_ID, *BOOK_IDS):
        for form in id_forms(number):
            assert number not in mask(f"身份证{form}").translate(str.maketrans("", "", " ")), form
            assert form not in mask(f"身份证{form}")
    for number in (CHAT_PHONE, *BOOK_PHONES):
        for form in [*phone_forms(number), f"{number[:3]}\u00a0{number[3:7]}\u00a0{number[7:]}"]:
            assert number[3:7] not in mask(f"电话{form}")  # the middle four digits go in every form


def test_no_phone_or_id_number_rests_in_tables_wal_files_or_logs(private_app, caplog):
    app, data_dir, database = private_app
    caplog.set_level(logging.INFO)  # everything the server logs at INFO and above, SQL echo included
    with TestClient(app, raise_server_exceptions=False) as http:
        session = None
        for message in CHAT_MESSAGES:
            reply = http.post("/api/chat", json={"message": message, "session_id": session})
            assert reply.status_code == 200
            session = reply.json()["session_id"]
        turn = reply.json()["turn_id"]
        with http.stream("POST", "/api/chat/stream", json={"message": CHAT_MESSAGES[0]}) as streamed:
            assert streamed.status_code == 200 and streamed.read()
        completion = http.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": CHAT_MESSAGES[3]}]}
        )
        assert completion.status_code == 200
        comment = f"回电{CHAT_PHONE.translate(FULL_WIDTH)}，身份证{id_forms(CHAT_ID)[2]}"
        assert http.post(
            "/api/feedback",
            json={"session_id": session, "turn_id": turn, "rating": "bad", "comment": comment},
        ).status_code in (200, 201)

        items = (CARD, CARD_LOST, ELDER_ALLOWANCE)
        for k, (phone, id_number) in enumerate(zip(BOOK_PHONES, BOOK_IDS, strict=True)):
            for n, (phone_form, id_form) in enumerate(
                zip(phone_forms(phone)[:3], id_forms(id_number)[:3], strict=True)
            ):
                booking = {
                    "place": "yc-taoxi",
                    "item": items[n],
                    "slot": f"2026-11-2{4 + k}T09:00",
                    "name": "张三丰",
                    "phone": phone_form,
                    "id_number": id_form,
                }
                made = http.post("/api/bookings", json=booking)
                assert made.status_code == 201, made.text
        form = {"place": "yc-taoxi", "item": CARD, "slot": "2026-11-27T10:00", "name": "李四"}
        page = http.post("/book", data={**form, "phone": phone_forms(BOOK_PHONES[0])[3]})
        assert page.status_code == 200 and "预约成功" in page.text

        # a lone surrogate in the phone or the ID number: refused, never a traceback that logs them
        for phone, id_number in (
            (BOOK_PHONES[1] + "\ud800", BOOK_IDS[1]),
            (BOOK_PHONES[1], BOOK_IDS[1][:17] + "\udfff"),
            ("\ud83d" + BOOK_PHONES[2], "\ud800" + BOOK_IDS[2]),
        ):
            booking = {**form, "slot": "2026-11-30T09:00", "phone": phone, "id_number": id_number}
            body = json.dumps(booking)  # ASCII JSON: the surrogates travel as \ud800 escapes
            refused = http.post("/api/bookings", content=body, headers={"content-type": "application/json"})
            assert refused.status_code in (400, 422), refused.text  # refused before or at the booking
            assert not any(secret in refused.text for secret in (*BOOK_PHONES, *BOOK_IDS))  # nothing echoed

        engine = shared_engine(database)
        stored: list[str] = []
        with engine.connect() as conn:
            for table in inspect(engine).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    stored.append(" ".join(str(v) for v in row))
            # the scan below must see the WAL: it is only folded into the database at a checkpoint
            assert (data_dir / "zhiyin.db-wal").exists()
            files = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    assert any("22**************34" in row for row in stored)  # the turns were stored, masked
    formatter = logging.Formatter("%(name)s %(message)s")
    logged = [formatter.format(record) for record in caplog.records]  # with any traceback
    assert logged
    tables = "\n".join(stored)
    log_text = "\n".join(logged)
    for secret in sorted(forbidden()):
        assert secret not in tables, f"{secret!r} in a table"
        assert secret not in log_text, f"{secret!r} in the logs"
        for path, content in files.items():
            for encoded in (secret.encode(), json.dumps(secret)[1:-1].encode()):
                assert encoded not in content, f"{secret!r} in {path}"
