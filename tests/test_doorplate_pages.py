"""The places API, the phone page a plate opens, guide pages and the warning page (HTTP level).
The same pages in a real browser are in test_doorplate_browser.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from zhiyin.app import create_app
from zhiyin.services import Services


@pytest.fixture(scope="module")
def app(demo_settings):
    return create_app(Services(demo_settings))


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


def test_places_api_lists_places_with_their_items(client):
    places = client.get("/api/places").json()
    by_id = {p["id"]: p for p in places}
    assert len(places) == 22
    hall = by_id["yc-center"]
    assert {"id", "name", "parent", "address", "lat", "lng", "hours", "items"} <= set(hall)
    assert hall["parent"] is None and "yc-center-a" in hall["children"]
    # a hall lists what its zones and windows handle; a window only its own
    assert set(by_id["yc-center-b-01"]["items"]) < set(by_id["yc-center-b"]["items"]) <= set(hall["items"])
    assert "990100-GA-0003" in by_id["yc-center-c"]["items"]  # 居民身份证补领 at the 户政 zone
    one = client.get("/api/places/yc-taoxi").json()
    assert one["name"] == by_id["yc-taoxi"]["name"] and one["items"]
    assert client.get("/api/places/nowhere").status_code == 404


def test_a_plate_opens_its_place_page(client, app):
    code = app.state.services.plates.issue("yc-center")
    page = client.get(f"/p/{code}")
    assert page.status_code == 200
    html = page.text
    assert "云川市政务服务中心" in html and "云川大道88号" in html and "9:00-17:00" in html
    assert 'href="tel:0999-1234500"' in html and "geo:28.2012,112.9634" in html  # call, route
    assert "A区" in html and "功能区与窗口" in html  # a hall shows its zones
    assert "/g/990100-SCJG-0001?place=yc-center" in html  # items link to their guides
    assert 'data-place="yc-center"' in html  # the assistant is scoped to this place
    assert "附近的服务点" in html and "视频连线" in html
    assert len(page.content) < 100_000


def test_the_item_list_can_be_searched_without_javascript(client, app):
    code = app.state.services.plates.issue("yc-center")
    html = client.get(f"/p/{code}", params={"q": "个体"}).text
    assert "个体工商户设立登记" in html and "居民身份证补领" not in html
    assert "没有名称含" in client.get(f"/p/{code}", params={"q": "火星移民"}).text


def test_asking_on_the_page_without_javascript_answers_with_sources(client, app):
    code = app.state.services.plates.issue("yc-center-c")
    html = client.get(f"/p/{code}", params={"ask": "身份证丢了怎么补办"}).text
    assert "居民身份证补领" in html and "依据" in html
    assert 'name="session"' in html  # the next question continues the conversation


def test_unknown_forged_and_revoked_codes_get_the_warning_page(client, app):
    plates = app.state.services.plates
    revoked = plates.issue("yc-shuikou-shimen")
    plates.revoke("yc-shuikou-shimen")
    before = plates.totals()
    for code in ("AAAAAAAAAAAA", "not-a-code", revoked, plates._new_code()):
        page = client.get(f"/p/{code}")
        assert page.status_code == 404
        assert "此码未登记，请谨防诈骗" in page.text and "12345" in page.text
        assert "这里能办的事项" not in page.text and "问一问" not in page.text  # nothing else
    after = plates.totals()
    assert after.get("forged", 0) - before.get("forged", 0) == 2
    assert after.get("revoked", 0) - before.get("revoked", 0) == 1
    assert after.get("unknown", 0) - before.get("unknown", 0) == 1
    plates.reissue("yc-shuikou-shimen")


def test_a_scan_is_counted_but_searching_the_page_is_not(client, app):
    code = app.state.services.plates.issue("yc-taoxi")
    count = lambda: sum(r["scans"] for r in app.state.services.plates.stats() if r["code"] == code)  # noqa: E731
    start = count()
    client.get(f"/p/{code}")
    client.get(f"/p/{code}", params={"q": "社保"})
    assert count() == start + 1


def test_guide_page_has_everything_to_handle_the_item(client):
    html = client.get("/g/990100-GA-0003", params={"place": "yc-center-c"}).text
    for part in (
        "居民身份证补领",
        "需要准备的材料",
        "办理流程",
        "承诺时限",
        "收费",
        "在哪里办",
        "一次性告知单",
    ):
        assert part in html, part
    assert "C区" in html  # the window here
    notice = client.get("/g/990100-GA-0003/notice.txt", params={"place": "yc-center-c"})
    assert notice.status_code == 200 and notice.headers["content-type"].startswith("text/plain")
    assert "attachment" in notice.headers["content-disposition"]
    assert notice.text.startswith("一次性告知单：居民身份证补领") and "需要准备的材料" in notice.text
    assert client.get("/g/no-such-guide").status_code == 404


def test_guide_page_says_when_this_place_does_not_handle_it(client):
    html = client.get("/g/990100-SCJG-0001", params={"place": "yc-center-c-01"}).text  # 个体户 at 户政
    assert "不办理此事项" in html


def test_elder_mode_is_remembered_without_javascript(client, app):
    code = app.state.services.plates.issue("yc-center")
    switched = client.get("/elder", params={"on": "true", "next": f"/p/{code}"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == f"/p/{code}"
    assert '<body class="elder' in client.get(f"/p/{code}").text  # the cookie is kept by the client
    client.get("/elder", params={"on": "false", "next": "/"})
    assert '<body class="elder' not in client.get(f"/p/{code}").text
    offsite = client.get("/elder", params={"next": "//evil.example/"}, follow_redirects=False)
    assert offsite.headers["location"] == "/"


def test_kiosk_page_and_its_continue_qr(client):
    html = client.get("/kiosk", params={"place": "yc-center"}).text
    assert "智能导办" in html and 'data-place="yc-center"' in html and 'class="item"' in html
    assert client.get("/kiosk", params={"place": "nowhere"}).status_code == 404
    asked = client.post("/api/chat", json={"message": "身份证丢了怎么补办", "place": "yc-center"}).json()
    qr = client.get("/kiosk/continue.svg", params={"place": "yc-center", "session": asked["session_id"]})
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    history = client.get(f"/api/chat/{asked['session_id']}").json()
    assert [t["role"] for t in history] == ["user", "assistant"]
    assert client.get("/api/chat/00000000-0000-0000-0000-000000000000").json() == []


def first_free_slot(client, place: str, item: str) -> str:
    info = client.get(f"/api/places/{place}/booking").json()
    for day in info["dates"]:
        free = [
            s
            for s in client.get(f"/api/places/{place}/slots", params={"item": item, "date": day}).json()
            if s["free"]
        ]
        if free:
            return free[-1]["slot"]  # the day's last: far from "now", so never in the past mid-test
    raise AssertionError("no free slot in the booking window")


def test_booking_pages_book_once_per_form_and_refuse_clearly(client):
    item = "990100-GA-0003"  # 居民身份证补领, booked in the hall's C group
    form = client.get("/book", params={"place": "yc-center-c", "item": item}).text
    assert "第三步：选择时间" in form and 'name="key"' in form
    slot = first_free_slot(client, "yc-center-c", item)
    fields = {
        "place": "yc-center-c",
        "item": item,
        "slot": slot,
        "name": "李四",
        "phone": "13900001234",
        "key": "form-key-0001",
    }
    first = client.post("/book", data=fields)
    again = client.post("/book", data=fields)  # a double tap on a slow network
    assert first.status_code == again.status_code == 200 and "预约成功" in first.text
    code = first.text.split('id="booking-code">')[1].split("<")[0]
    assert code in again.text  # the same booking, not a second one
    assert "李*" in first.text and "139****1234" in first.text and "13900001234" not in first.text

    same_day = client.post("/book", data={**fields, "key": "form-key-0002"})
    assert same_day.status_code == 422 and 'role="alert"' in same_day.text  # one per phone, item and day
    bad_phone = client.post("/book", data={**fields, "key": "form-key-0003", "phone": "12345"})
    assert bad_phone.status_code == 422 and "手机号" in bad_phone.text
    no_slot = client.post("/book", data={**fields, "key": "form-key-0004", "slot": ""})
    assert no_slot.status_code == 400 and "请选择一个时间段" in no_slot.text

    assert client.post(f"/b/{code}", data={"last4": "0000"}).status_code == 404  # wrong digits
    view = client.post(f"/b/{code}", data={"last4": "1234"})
    assert view.status_code == 200 and "已预约" in view.text and f"/api/bookings/{code}/qr.svg" in view.text
    cancelled = client.post(f"/b/{code}", data={"last4": "1234", "action": "cancel"})
    assert "已取消" in cancelled.text
    assert client.get("/b/not-a-code!").status_code == 404


def test_phone_and_guide_pages_offer_booking_where_it_exists(client, app):
    hall = client.get(f"/p/{app.state.services.plates.issue('yc-center-c')}").text
    assert 'href="/book?place=yc-center-c"' in hall and "由云川市政务服务中心统一受理预约" in hall
    village = client.get(f"/p/{app.state.services.plates.issue('yc-taoxi-lihua')}").text
    assert 'id="book-link"' not in village  # a village station takes no bookings
    guide = client.get("/g/990100-GA-0003", params={"place": "yc-center-c"}).text
    assert 'href="/book?place=yc-center-c&amp;item=990100-GA-0003"' in guide
    closed = client.get("/book", params={"place": "yc-taoxi-lihua"})
    assert closed.status_code == 404 and "不提供预约" in closed.text


def test_the_kiosk_shows_what_is_asked_most_here_first(app, client):
    import re

    def buttons() -> list[str]:
        return re.findall(
            r'class="item" data-ask="([^"]+)"', client.get("/kiosk", params={"place": "yc-center"}).text
        )

    before = buttons()
    handled = [g.name for g in app.state.services.catalog.items_at("yc-center")]
    rare = next(name for name in handled if name not in before)  # not on the kiosk yet
    for _ in range(5):  # asked at a window inside the hall: counted for the hall
        reply = client.post(
            "/api/chat", json={"message": f"{rare}要带什么材料", "place": "yc-center-c"}
        ).json()
        assert not reply["declined"] and reply["sources"]
    after = buttons()
    assert after[0] == rare and len(after) == len(before)
    # declined questions count for nothing
    client.post("/api/chat", json={"message": "讲个笑话吧", "place": "yc-center"})
    assert buttons() == after


def test_a_browser_gets_a_chinese_page_for_what_does_not_exist_and_the_api_keeps_json(client):
    html = {"accept": "text/html,application/xhtml+xml"}
    for path in ("/g/no-such-guide", "/no/such/page"):
        page = client.get(path, headers=html)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), path
        assert "没有找到这个页面" in page.text and "12345" in page.text
    api = client.get("/api/places/nowhere", headers=html)
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    assert client.get("/g/no-such-guide").json()["detail"]  # a client asking for no page gets JSON
