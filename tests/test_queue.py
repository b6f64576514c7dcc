"""Queue numbers on real databases (SQLite and PostgreSQL): check-in, priorities, calling,
no-shows, estimated waits; the staff endpoints' tokens; the hall screen's feed."""

from __future__ import annotations

import datetime as dt
import json
import threading

import httpx
import pytest
from booking_helpers import (
    ADMIN_SECRET,
    CARD,
    ELDER_ALLOWANCE,
    LAST4,
    MONDAY,
    PHONE,
    TUESDAY,
    Clock,
    at,
    booking_app,
    demo_catalog,
)
from conftest import serve
from fastapi.testclient import TestClient

from doorplate.booking import BookingService, NotFound, RuleViolation
from doorplate.queue import BOOKED, GREEN, WALK_IN, QueueService
from zhiyin.db import head_revision


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY, 10)


@pytest.fixture
def bookings(db_engine, clock) -> BookingService:
    return BookingService(db_engine, demo_catalog(), b"test-booking-key", clock=clock)


@pytest.fixture
def queue(bookings) -> QueueService:
    return QueueService(bookings.engine, bookings)


def booked_for(
    bookings: BookingService, slot: dt.datetime, phone: str = PHONE, item: str = CARD, place="yc-taoxi"
):
    record, _ = bookings.book(place, item, slot, "张三丰", phone)
    return record


def test_walk_in_numbers_count_per_group(queue, clock):
    clock.set(TUESDAY, 9)
    labels = [
        queue.issue("yc-taoxi", item_id=CARD).label,
        queue.issue("yc-taoxi", item_id=ELDER_ALLOWANCE).label,
        queue.issue("yc-taoxi", group="a").label,
        queue.issue("yc-taoxi", group="C").label,
    ]
    assert labels == ["A001", "B001", "A002", "C001"]
    clock.set(TUESDAY + dt.timedelta(days=1), 9)
    assert queue.issue("yc-taoxi", item_id=CARD).label == "A001"  # a new day starts again
    with pytest.raises(NotFound):
        queue.issue("yc-taoxi", group="Q")


def test_green_channel_then_booked_then_walk_ins_each_in_arrival_order(queue, bookings, clock):
    booking = booked_for(bookings, at(TUESDAY, 9, 30))
    clock.set(TUESDAY, 9)
    first_walk_in = queue.issue("yc-taoxi", item_id=CARD)
    second_walk_in = queue.issue("yc-taoxi", item_id=CARD)
    checked_in, late = queue.check_in(booking.code)
    elder = queue.issue("yc-taoxi", item_id=CARD, green=True)  # 绿色通道, arrived last
    assert not late and checked_in.priority == BOOKED and elder.priority == GREEN
    assert first_walk_in.priority == WALK_IN
    assert queue.position(first_walk_in.id).ahead == 2 and queue.position(elder.id).ahead == 0
    called = [queue.call_next("yc-taoxi", "1").label for _ in range(4)]
    assert called == [elder.label, checked_in.label, first_walk_in.label, second_walk_in.label]
    assert queue.call_next("yc-taoxi", "1") is None  # nobody waits


def test_check_in_rules(queue, bookings, clock):
    booking = booked_for(bookings, at(TUESDAY, 10))
    clock.set(MONDAY, 15)
    with pytest.raises(RuleViolation, match="2026-11-24") as wrong_day:
        queue.check_in(booking.code)
    assert wrong_day.value.error == "not_today"
    clock.set(TUESDAY, 8, 30)
    with pytest.raises(RuleViolation) as early:
        queue.check_in(booking.code)
    assert early.value.error == "too_early" and "09:00" in early.value.message
    with pytest.raises(RuleViolation) as elsewhere:
        queue.check_in(booking.code, place_id="yc-center")
    assert elsewhere.value.error == "other_place"
    clock.set(TUESDAY, 9, 5)
    ticket, _ = queue.check_in(booking.code, place_id="yc-taoxi")
    assert queue.check_in(booking.code)[0] == ticket  # twice: the same ticket
    assert bookings.lookup(booking.code, LAST4).status == "checked_in"
    with pytest.raises(RuleViolation):
        bookings.cancel(booking.code, LAST4)  # checked in: no longer cancellable
    with pytest.raises(NotFound):
        queue.check_in("ZZZZZZZZ")


def test_a_cancelled_booking_cannot_check_in_and_a_late_one_queues_as_walk_in(queue, bookings, clock):
    cancelled = booked_for(bookings, at(TUESDAY, 9))
    bookings.cancel(cancelled.code, LAST4)
    late = booked_for(bookings, at(TUESDAY, 9), item="990100-SB-0005")
    clock.set(TUESDAY, 10, 1)  # the slot ended at 9:30; half an hour's grace is over
    with pytest.raises(RuleViolation):
        queue.check_in(cancelled.code)
    ticket, was_late = queue.check_in(late.code)
    assert was_late and ticket.priority == WALK_IN


def test_call_again_done_and_no_show(queue, clock):
    clock.set(TUESDAY, 9)
    first, second = queue.issue("yc-taoxi", group="A"), queue.issue("yc-taoxi", group="A")
    called = queue.call_next("yc-taoxi", "3")
    assert called.id == first.id and called.status == "called" and called.window == "3" and called.calls == 1
    again = queue.recall(first.id)
    assert again.calls == 2 and again.last_called >= called.last_called
    assert queue.finish(first.id, "no_show").status == "no_show"
    with pytest.raises(RuleViolation):
        queue.finish(first.id, "done")  # no longer at a window
    queue.call_next("yc-taoxi", "3")
    with pytest.raises(RuleViolation, match="another window"):
        queue.finish(second.id, "done", window="4")
    assert queue.finish(second.id, "done", window="3").status == "done"


def test_calling_the_next_finishes_the_windows_current_visitor(queue, clock):
    clock.set(TUESDAY, 9)
    first, second = queue.issue("yc-taoxi", group="A"), queue.issue("yc-taoxi", group="A")
    queue.call_next("yc-taoxi", "1")
    clock.set(TUESDAY, 9, 6)
    queue.call_next("yc-taoxi", "1")
    assert queue.ticket(first.id).status == "done" and queue.ticket(first.id).finished == at(TUESDAY, 9, 6)
    assert queue.ticket(second.id).status == "called"


def test_a_window_calls_only_the_groups_it_serves(queue, clock):
    clock.set(TUESDAY, 9)
    company = queue.issue("yc-center", item_id="990100-SCJG-0001")  # A区
    id_card = queue.issue("yc-center-c-01", item_id="990100-GA-0003")  # C区, taken at a window's plate
    assert (company.label, id_card.label, id_card.place_id) == ("A001", "C001", "yc-center")
    assert queue.call_next("yc-center", "C12").id == id_card.id
    assert queue.call_next("yc-center", "C12") is None  # the A visitor is not called to a C window
    assert queue.call_next("yc-center", "A05").id == company.id
    with pytest.raises(RuleViolation):
        queue.call_next("yc-center", "Z99")  # serves no group


def test_windows_calling_at_once_never_call_the_same_visitor(queue, clock):
    clock.set(TUESDAY, 9)
    issued = [queue.issue("yc-taoxi", group="A").label for _ in range(24)]
    called: list[str] = []
    barrier = threading.Barrier(8)

    def window(n: int) -> None:
        barrier.wait()
        while (ticket := queue.call_next("yc-taoxi", f"W{n}")) is not None:
            called.append(ticket.label)

    threads = [threading.Thread(target=window, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(called) == sorted(issued)  # each visitor called exactly once


def test_estimated_wait_follows_recent_service_times(queue, clock):
    clock.set(TUESDAY, 9)
    for _ in range(6):
        queue.issue("yc-taoxi", group="B")
    status = {g.letter: g for g in queue.status("yc-taoxi").groups}
    assert status["B"].waiting == 6 and status["B"].wait_minutes == 30  # 5 minutes each before any service
    for minute in (0, 8, 16):  # one window, 8 minutes a visitor
        clock.set(TUESDAY, 9, minute)
        queue.call_next("yc-taoxi", "1", ["B"])
    clock.set(TUESDAY, 9, 24)
    queue.call_next("yc-taoxi", "1", ["B"])
    status = {g.letter: g for g in queue.status("yc-taoxi").groups}
    assert status["B"].waiting == 2 and status["B"].wait_minutes == 16
    assert status["A"].waiting == 0 and status["A"].wait_minutes == 0


def test_walk_in_tickets_only_while_the_hall_is_open(queue, clock):
    for day, hh, mm in ((TUESDAY, 17, 30), (dt.date(2026, 11, 29), 10, 0), (dt.date(2027, 1, 1), 10, 0)):
        clock.set(day, hh, mm)
        with pytest.raises(RuleViolation) as closed:
            queue.issue("yc-taoxi", group="A")
        assert closed.value.error == "closed"
    clock.set(TUESDAY, 12, 30)  # lunch: the ticket waits for the afternoon
    assert queue.issue("yc-taoxi", group="A").label == "A001"


def test_the_queue_version_moves_with_every_change(queue, clock):
    clock.set(TUESDAY, 9)
    start = queue.version("yc-taoxi")
    ticket = queue.issue("yc-taoxi", group="A")
    queue.call_next("yc-taoxi", "1")
    queue.recall(ticket.id)
    assert queue.version("yc-taoxi") == start + 3 == queue.status("yc-taoxi").version


# -- staff endpoints and the hall screen, through HTTP -------------------------------------------
ADMIN = {"Authorization": f"Bearer {ADMIN_SECRET}"}


@pytest.fixture
def app(demo_settings, db_url):
    with booking_app(demo_settings, db_url, Clock(TUESDAY, 9)) as app:
        yield app


@pytest.fixture
def client(app):
    with TestClient(app) as http:
        yield http


def test_staff_endpoints_need_a_valid_token(client, app):
    walk_in = client.post("/api/places/yc-center/tickets", json={"item": "990100-GA-0003"})
    assert walk_in.status_code == 201 and walk_in.json()["ticket"] == "C001"
    ticket_id = walk_in.json()["id"]
    call = {"window": "C12"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "admin-secret"}):
        refused = client.post("/api/staff/places/yc-center/call-next", json=call, headers=headers)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    for path in ("/api/staff/places/yc-center/queue", "/api/staff/places/yc-center/bookings"):
        assert client.get(path).status_code == 401
    assert client.post(f"/api/staff/tickets/{ticket_id}/recall").status_code == 401

    clerks = app.state.services.staff
    at_c12 = {"Authorization": f"Bearer {clerks.add('王芳', place_id='yc-center', window='C12')}"}
    at_taoxi = {"Authorization": f"Bearer {clerks.add('李强', place_id='yc-taoxi')}"}
    assert (
        client.post(
            "/api/staff/places/yc-center/call-next", json={"window": "C11"}, headers=at_c12
        ).status_code
        == 403
    )
    assert (
        client.post("/api/staff/places/yc-center/call-next", json=call, headers=at_taoxi).status_code == 403
    )
    assert client.get("/api/staff/places/yc-center/queue", headers=at_taoxi).status_code == 403
    called = client.post("/api/staff/places/yc-center/call-next", json=call, headers=at_c12)
    assert called.status_code == 200 and called.json()["ticket"]["ticket"] == "C001"
    assert client.post(f"/api/staff/tickets/{ticket_id}/recall", headers=at_taoxi).status_code == 403
    assert client.post(f"/api/staff/tickets/{ticket_id}/recall", headers=at_c12).json()["status"] == "called"
    assert client.post(f"/api/staff/tickets/{ticket_id}/no-show", headers=ADMIN).json()["status"] == "no_show"
    empty = client.post("/api/staff/places/yc-center/call-next", json=call, headers=ADMIN)
    assert empty.status_code == 200 and empty.json() == {"ticket": None}
    clerks.revoke("王芳")
    assert client.post("/api/staff/places/yc-center/call-next", json=call, headers=at_c12).status_code == 401


def test_staff_see_masked_names_and_phones_and_the_public_sees_none(client):
    made = client.post(
        "/api/bookings",
        json={
            "place": "yc-taoxi",
            "item": CARD,
            "slot": "2026-11-24T09:30",
            "name": "张三丰",
            "phone": PHONE,
            "id_number": "11010519491231002X",
        },
    )
    assert made.status_code == 201
    checked = client.post(
        "/api/checkin", json={"code": f"http://x/b/{made.json()['code']}", "place": "yc-taoxi"}
    )
    assert (
        checked.status_code == 201
        and checked.json()["ticket"] == "A001"
        and checked.json()["kind"] == "booked"
    )
    board = client.get("/api/staff/places/yc-taoxi/queue", headers=ADMIN)
    day = client.get("/api/staff/places/yc-taoxi/bookings", params={"date": "2026-11-24"}, headers=ADMIN)
    assert board.json()[0]["name"] == "张*丰" and board.json()[0]["phone"] == "138****5678"
    assert day.json()[0]["name"] == "张*丰" and day.json()[0]["id_last4"] == "002X"
    public = client.get("/api/places/yc-taoxi/queue")
    position = client.get("/api/places/yc-taoxi/tickets/A001")
    assert position.json()["status"] == "waiting" and position.json()["ahead"] == 0
    for response in (board, day, public, position, checked):
        assert (
            PHONE not in response.text and "张三丰" not in response.text and "19491231" not in response.text
        )
    assert "张" not in public.text and "138" not in public.text and "****" not in public.text


def test_the_hall_screen_feed(client):
    client.post("/api/places/yc-taoxi/tickets", json={"group": "A"})
    first = client.get("/api/places/yc-taoxi/queue")
    body = first.json()
    assert body["groups"][0] == {"letter": "A", "label": "社保医保", "waiting": 1, "wait_minutes": 5}
    assert body["calls"] == []
    unchanged = client.get("/api/places/yc-taoxi/queue", headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304
    client.post("/api/staff/places/yc-taoxi/call-next", json={"window": "2"}, headers=ADMIN)
    changed = client.get("/api/places/yc-taoxi/queue", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    [call] = changed.json()["calls"]
    assert call["ticket"] == "A001" and call["window"] == "2" and call["status"] == "called"
    assert call["announcement"].startswith("请A001号到2号窗口办理")
    assert client.get("/api/places/yc-nowhere/queue").status_code == 404


def test_the_hall_screen_stream_sends_every_change(app):
    """Server-sent events over a real server: the state at once, then a call as it happens."""
    with serve(app) as url, httpx.Client(base_url=url, timeout=20) as http:
        ticket = http.post("/api/places/yc-taoxi/tickets", json={"group": "A"}).json()
        events = []
        with http.stream("GET", "/api/places/yc-taoxi/queue/events", params={"max_seconds": 15}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if len(events) == 1:
                        assert events[0]["groups"][0]["waiting"] == 1
                        http.post("/api/staff/places/yc-taoxi/call-next", json={"window": "5"}, headers=ADMIN)
                    else:
                        break
    assert events[1]["calls"][0]["ticket"] == ticket["ticket"] and events[1]["calls"][0]["window"] == "5"
    assert events[1]["version"] > events[0]["version"]


def test_staff_tokens_from_the_command_line(tmp_path):
    import os

    from click.testing import CliRunner

    from zhiyin.cli import main
    from zhiyin.settings import get_settings

    env = {k: None for k in os.environ if k.startswith("ZHIYIN_")} | {"ZHIYIN_DATA_DIR": str(tmp_path)}
    get_settings.cache_clear()
    try:
        run = lambda *args: CliRunner().invoke(main, list(args), env=env)  # noqa: E731
        added = run("staff", "add", "王芳", "--place", "yc-center", "--window", "C12")
        assert added.exit_code == 0 and added.stdout.startswith("zs_")
        assert "王芳" in run("staff", "list").stdout and "C12" in run("staff", "list").stdout
        assert run("staff", "add", "王芳").exit_code == 1  # one token per name
        upgraded = run("db", "upgrade")
        assert (
            upgraded.exit_code == 0
            and f"at migration {head_revision()} (newest {head_revision()})" in upgraded.stdout
        )
        from doorplate.staff import StaffDirectory
        from zhiyin.db import prepare_database

        token = added.stdout.strip()
        staff = StaffDirectory(prepare_database(f"sqlite:///{tmp_path / 'zhiyin.db'}")).identify(token)
        assert staff is not None and staff.window == "C12" and staff.place_id == "yc-center"
        assert run("staff", "revoke", "王芳").exit_code == 0
        assert run("staff", "revoke", "王芳").exit_code == 1
    finally:
        get_settings.cache_clear()
