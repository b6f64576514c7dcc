"""The hall screen, the kiosk's 取号 · 签到 and the clerk's page, in a real headless Chromium against
the live demo server.

A booking is made through the JSON API for a real future slot; then the hall's clock (what the
booking and queue services read, ``app.state.services.bookings.clock``) is set to just after that slot's
start, so checking in — open only from an hour before the slot — and walk-in tickets work at any
real hour. The clock runs on from there and is put back when this module is done."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from browser_checks import CONTRAST, assert_rendered, until, watch_csp
from conftest import ADMIN_TOKEN

from halls.clock import HALL_TZ, hall_now

HALL, ID_CARD = "yc-center", "990100-GA-0003"  # 居民身份证补领: group C (户政与出入境) at the city hall
TV, PC = {"width": 1920, "height": 1080}, {"width": 1366, "height": 768}
NAME, PHONE = "李四", "13900001111"

SPY = """
window.__spoken = [];
if (window.speechSynthesis) {
  const speak = speechSynthesis.speak.bind(speechSynthesis);
  speechSynthesis.speak = (u) => { window.__spoken.push({text: u.text, lang: u.lang}); speak(u); };
}
"""


def shot(page, name: str) -> None:
    """A screenshot with real content; kept in $ZHIYIN_TEST_SCREENSHOTS (if set) to look at."""
    png = page.screenshot()
    assert_rendered(png)
    if os.environ.get("ZHIYIN_TEST_SCREENSHOTS"):
        folder = Path(os.environ["ZHIYIN_TEST_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.png").write_bytes(png)


def spoken(page) -> list[str]:
    return [u["text"] for u in page.evaluate("window.__spoken")]


def book(hall, slot: str, phone: str = PHONE) -> dict:
    made = hall.http.post(
        "/api/bookings", json={"place": HALL, "item": ID_CARD, "slot": slot, "name": NAME, "phone": phone}
    )
    assert made.status_code == 201, made.text
    return made.json()


def slots_today(hall) -> list[dict]:
    return hall.http.get(f"/api/places/{HALL}/slots", params={"item": ID_CARD, "date": hall.day}).json()


@pytest.fixture(scope="module")
def hall(live_app, live_server):
    http = httpx.Client(base_url=live_server, timeout=20)
    today = hall_now().date()
    dates = [dt.date.fromisoformat(d) for d in http.get(f"/api/places/{HALL}/booking").json()["dates"]]
    ahead = [d for d in dates if d >= today + dt.timedelta(days=2)] or dates
    day = next((d for d in ahead if d.weekday() < 5), ahead[0])  # a weekday a few days ahead
    slots = http.get(f"/api/places/{HALL}/slots", params={"item": ID_CARD, "date": day.isoformat()}).json()
    slot = next(s["slot"] for s in slots if s["free"])
    state = SimpleNamespace(url=live_server, http=http, day=day.isoformat())
    state.booking = book(state, slot)
    start = dt.datetime.fromisoformat(slot).replace(tzinfo=HALL_TZ) + dt.timedelta(minutes=5)
    began = time.monotonic()
    services = live_app.state.services.bookings
    real_clock = services.clock
    services.clock = lambda: start + dt.timedelta(seconds=time.monotonic() - began)
    try:
        yield state
    finally:
        services.clock = real_clock
        http.close()


@pytest.fixture
def new_context(browser):
    """Browser contexts closed at the end of the test, even when it fails midway (an open event
    stream would otherwise hold the server up at shutdown)."""
    made, violations = [], []

    def make(**options):
        made.append(browser.new_context(locale="zh-CN", **options))
        violations.append(watch_csp(made[-1]))
        return made[-1]

    yield make
    for context in made:
        context.close()
    assert [v for seen in violations for v in seen] == []  # the pages work within their CSP


def test_kiosk_checks_a_booking_in_by_its_code_and_reads_the_number_aloud(new_context, hall):
    context = new_context(viewport=TV)
    kiosk = context.new_page()
    kiosk.add_init_script(SPY)
    kiosk.clock.install()
    kiosk.goto(f"{hall.url}/kiosk?place={HALL}")
    kiosk.locator("#queue-entry").wait_for()
    assert kiosk.locator("button.item").count() >= 6  # the assistant's buttons are still there
    kiosk.click("#open-checkin")
    assert kiosk.evaluate("document.activeElement.id") == "checkin-code"  # ready for a scanner
    code = hall.booking["code"]
    kiosk.fill("#checkin-code", f"{code[:4]}-{code[4:]}".lower())  # as printed, typed in lower case
    kiosk.press("#checkin-code", "Enter")
    number = kiosk.locator("#ticket-number")
    number.wait_for()
    label = number.inner_text()
    assert re.fullmatch(r"C\d{3}", label)
    ticket = kiosk.locator("#ticket").inner_text()
    assert "户政与出入境" in ticket and "预约" in ticket and "签到成功" in ticket
    assert kiosk.locator("#ticket").get_attribute("aria-live") == "assertive"
    assert any(label in text and "户政与出入境" in text for text in spoken(kiosk))
    assert kiosk.evaluate(CONTRAST) == []
    shot(kiosk, "kiosk-ticket-booked")

    # a scanner types the check-in URL and Enter wherever the focus is: the same ticket again
    kiosk.click(".ticket-done")
    assert kiosk.locator("#queue-panel").is_hidden()
    kiosk.keyboard.type(hall.booking["checkin_url"])
    kiosk.keyboard.press("Enter")
    until(kiosk, f"(document.getElementById('ticket-number') || {{}}).textContent === '{label}'")

    # a minute without a touch: back to the welcome, the ticket gone
    kiosk.clock.fast_forward("01:05")
    until(kiosk, "document.getElementById('queue-panel').hidden")
    assert kiosk.locator("#ticket").inner_text() == ""
    assert "您好" in kiosk.locator("#bubble").inner_text()

    # refusals in plain Chinese, from the API's messages
    kiosk.click("#open-checkin")
    kiosk.fill("#checkin-code", "ZZZZ-ZZZZ")
    kiosk.press("#checkin-code", "Enter")
    until(kiosk, "document.getElementById('queue-error').textContent.length > 0")
    assert kiosk.locator("#queue-error").inner_text() == "没有这个预约码。"
    assert kiosk.get_by_role("alert").filter(has_text="没有这个预约码").count() == 1
    other = context.new_page()
    other.goto(f"{hall.url}/kiosk?place=yc-taoxi")  # another hall's kiosk
    other.click("#open-checkin")
    other.fill("#checkin-code", code)
    other.press("#checkin-code", "Enter")
    until(other, "document.getElementById('queue-error').textContent.length > 0")
    assert other.locator("#queue-error").inner_text() == "该预约不在本大厅办理。"

    soon = dt.datetime.fromisoformat(hall.booking["slot"]) + dt.timedelta(hours=2)
    later = next(s["slot"] for s in reversed(slots_today(hall)) if s["free"])
    assert dt.datetime.fromisoformat(later) >= soon, "the first booking should be early in the day"
    code = book(hall, later, "13900002222")["code"]
    kiosk.fill("#checkin-code", code)
    kiosk.press("#checkin-code", "Enter")
    until(kiosk, "document.getElementById('queue-error').textContent.startsWith('请于')")
    opens = (dt.datetime.fromisoformat(later) - dt.timedelta(hours=1)).strftime("%H:%M")
    assert kiosk.locator("#queue-error").inner_text() == f"请于{opens}以后签到。"


def test_kiosk_walk_in_ticket_on_the_green_channel(new_context, hall):
    context = new_context(viewport=TV)
    kiosk = context.new_page()
    kiosk.add_init_script(SPY)
    kiosk.goto(f"{hall.url}/kiosk?place={HALL}")
    kiosk.click("#open-walkin")
    green = kiosk.locator("#green")
    assert kiosk.evaluate("document.activeElement.id") == "green"
    green.click()
    assert green.get_attribute("aria-pressed") == "true"
    groups = kiosk.locator("#walkin-groups button")
    assert groups.count() == 5 and groups.first.bounding_box()["height"] >= 60  # large tap targets
    shot(kiosk, "kiosk-walkin-green-choice")
    kiosk.click("#walkin-groups button[data-group=C]")
    kiosk.locator("#ticket-number").wait_for()
    label = kiosk.locator("#ticket-number").inner_text()
    assert label.startswith("C") and "绿色通道" in kiosk.locator("#ticket").inner_text()
    mine = hall.http.get(f"/api/places/{HALL}/tickets/{label}").json()
    assert mine["kind"] == "green" and mine["ahead"] == 0  # called before the booked visitor
    assert any(label in text for text in spoken(kiosk))
    assert kiosk.evaluate(CONTRAST) == []
    shot(kiosk, "kiosk-ticket-green")

    village = context.new_page()  # a village office takes no bookings and gives no numbers
    village.goto(f"{hall.url}/kiosk?place=yc-taoxi-lihua")
    village.wait_for_load_state("networkidle")
    assert village.locator("#queue-entry").is_hidden() and village.locator("button.item").count() >= 1


def test_a_number_called_at_the_staff_page_appears_on_the_hall_screen_and_is_read_aloud(new_context, hall):
    walk_in = hall.http.post(f"/api/places/{HALL}/tickets", json={"group": "B"}).json()["ticket"]
    context = new_context(viewport=TV)
    screen = context.new_page()
    screen.add_init_script(SPY)
    screen.goto(f"{hall.url}/screen?place={HALL}")
    assert screen.locator("h1").inner_text() == "云川市政务服务中心"
    for landmark in ("banner", "main", "contentinfo"):
        assert screen.get_by_role(landmark).count() == 1
    until(screen, "document.getElementById('live').textContent === '实时'")  # events flowing
    screen.evaluate("window.__notReloaded = true")

    staff = context.new_page()
    staff.set_viewport_size(PC)
    staff.goto(f"{hall.url}/staff?place={HALL}")
    staff.fill("#token", ADMIN_TOKEN)
    staff.click("#signin-form button[type=submit]")
    staff.locator("#desk").wait_for()
    staff.fill("#window", "B03")
    staff.press("#window", "Tab")
    staff.click("#call-next")
    until(staff, "!!document.getElementById('current-ticket')")
    assert staff.locator("#current-ticket").inner_text() == walk_in  # B03 serves group B only
    assert "已叫" in staff.locator("#notice").inner_text()

    # the screen follows without a reload, shows it big, highlights it and reads it aloud
    until(screen, f"(document.getElementById('now-number') || {{}}).textContent === '{walk_in}'")
    assert screen.evaluate("window.__notReloaded") is True
    assert "B03号窗口" in screen.locator("#now").inner_text()
    assert "flash" in screen.locator(".now").get_attribute("class")
    until(screen, "window.__spoken.length > 0")
    said = spoken(screen)
    assert said[0] == f"请{walk_in}号到B03号窗口办理。"
    assert [u["lang"] for u in screen.evaluate("window.__spoken")][:1] == ["zh-CN"]
    assert screen.locator("#recent tr").first.inner_text().startswith(walk_in)
    assert screen.evaluate(CONTRAST) == []
    shot(screen, "screen-called")

    # 重呼: read again; 办结: the window is free
    before = len(said)
    staff.click("#recall")
    until(screen, f"window.__spoken.length > {before}")
    assert spoken(screen)[before] == f"请{walk_in}号到B03号窗口办理。"
    until(staff, "document.getElementById('notice').textContent.includes('已重呼')")
    staff.click("#done")
    until(staff, "document.getElementById('notice').textContent.includes('已办结')")
    assert staff.locator("#current .idle").is_visible()  # at once, not after the board reloads
    staff.fill("#checkin-code", "ZZZZ-ZZZZ")  # 代办签到, refused in plain Chinese
    staff.press("#checkin-code", "Enter")
    until(staff, "document.getElementById('error').textContent.length > 0")
    assert staff.locator("#error").inner_text() == "没有这个预约码。"

    # the day's bookings and the board, with names and phones masked
    until(staff, f"document.getElementById('bookings').textContent.includes('{hall.booking['code']}')")
    bookings = staff.locator("#bookings").inner_text()
    assert "李*" in bookings and "139****1111" in bookings and "居民身份证补领" in bookings
    assert NAME not in staff.content() and PHONE not in staff.content()
    assert NAME not in screen.content() and "139" not in screen.locator("main").inner_text()
    assert staff.evaluate(CONTRAST) == []
    shot(staff, "staff-desk")
    staff.reload()  # the token is entered once per tab; the window is remembered
    staff.locator("#desk").wait_for()
    assert staff.locator("#window").input_value() == "B03" and staff.locator("#signin").is_hidden()


def test_the_staff_page_shows_nothing_without_a_valid_token(new_context, hall, live_app):
    context = new_context(viewport=PC)
    page = context.new_page()
    statuses = []
    page.on("response", lambda r: statuses.append((r.url, r.status)))
    page.goto(f"{hall.url}/staff?place={HALL}")
    assert page.locator("#desk").is_hidden() and page.locator("#board tr").count() == 0
    assert "需要工作人员令牌" in page.get_by_role("alert").first.inner_text()
    assert not any("/api/staff/" in url for url, _ in statuses)  # no token: not even asked
    page.fill("#token", "not-a-token")
    page.click("#signin-form button[type=submit]")
    until(page, "document.getElementById('signin-message').textContent.includes('令牌无效')")
    assert (f"{hall.url}/api/staff/places/{HALL}/queue", 401) in statuses
    assert page.locator("#desk").is_hidden() and page.locator("#board tr, #bookings tr").count() == 0
    assert hall.booking["code"] not in page.content()
    assert page.evaluate("sessionStorage.getItem('zhiyin_staff_token')") is None
    assert page.evaluate(CONTRAST) == []
    shot(page, "staff-refused")

    clerk = live_app.state.services.staff.add(f"王芳-{time.time_ns()}", place_id=HALL, window="C12")
    page.fill("#token", clerk)  # a clerk of window C12 …
    page.click("#signin-form button[type=submit]")
    page.locator("#desk").wait_for()
    page.fill("#window", "C11")  # … at another window
    page.press("#window", "Tab")
    page.click("#call-next")
    until(page, "document.getElementById('error').textContent.length > 0")
    assert page.locator("#error").inner_text() == "无权操作：该令牌只能在本窗口叫号。"
    assert page.locator("#current .idle").is_visible()
    page.click("#signout")  # signing out forgets the token and the data
    assert page.locator("#desk").is_hidden() and page.locator("#board tr").count() == 0
    assert page.evaluate("sessionStorage.getItem('zhiyin_staff_token')") is None


def test_the_screen_polls_with_an_etag_where_eventsource_is_missing(new_context, hall):
    context = new_context(viewport=TV)
    screen = context.new_page()
    screen.add_init_script("delete window.EventSource;" + SPY)
    polls = []
    screen.on("response", lambda r: r.url.endswith(f"/api/places/{HALL}/queue") and polls.append(r.status))
    screen.goto(f"{hall.url}/screen?place={HALL}")
    ticket = hall.http.post(f"/api/places/{HALL}/tickets", json={"group": "B"}).json()["ticket"]
    called = hall.http.post(
        f"/api/staff/places/{HALL}/call-next",
        json={"window": "B05"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()["ticket"]
    assert called["ticket"] == ticket
    until(screen, f"(document.getElementById('now-number') || {{}}).textContent === '{ticket}'")
    assert f"请{ticket}号到B05号窗口办理。" in spoken(screen)
    assert screen.locator("#live").inner_text() == "定时刷新"
    deadline = time.monotonic() + 10
    while 304 not in polls and time.monotonic() < deadline:  # nothing changed since: 304, no body
        screen.wait_for_timeout(200)
    assert 200 in polls and 304 in polls


def test_the_screen_is_rendered_on_the_server_and_refuses_unknown_places(new_context, hall):
    context = new_context(viewport=TV, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{hall.url}/screen?place={HALL}")
    latest = hall.http.get(f"/api/places/{HALL}/queue").json()["calls"][0]
    assert page.locator("#now-number").inner_text() == latest["ticket"]  # right before any script runs
    assert page.locator("#groups li").count() == 5
    page.goto(f"{hall.url}/staff?place={HALL}")  # no script, no form that could send the token anywhere
    assert page.locator("#signin").is_hidden() and "JavaScript" in page.get_by_role("alert").inner_text()

    page = hall.http.get("/screen", params={"place": HALL})
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert NAME not in page.text and PHONE[-4:] not in page.text
    for path in ("/screen", "/staff"):
        unknown = hall.http.get(path, params={"place": "yc-nowhere"})
        assert unknown.status_code == 404 and "没有这个场所" in unknown.text
        village = hall.http.get(path, params={"place": "yc-taoxi-lihua"})  # a village office: no queue
        assert village.status_code == 404 and "未开通取号叫号" in village.text
        assert "<script" not in village.text
