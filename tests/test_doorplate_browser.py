"""The phone page, guide page, elder mode, warning page and kiosk in a real headless Chromium."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from browser_checks import CONTRAST, assert_rendered, until, watch_csp
from PIL import Image

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def codes(live_server, demo_settings):
    from zhiyin.services import Services

    registry = Services(demo_settings).plates
    return {p: registry.issue(p) for p in ("yc-center", "yc-center-c", "yc-taoxi-lihua")}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    violations = watch_csp(context)
    page = context.new_page()
    yield page
    context.close()
    assert violations == []  # the page works within its Content-Security-Policy


def test_phone_page_first_view_is_light_and_complete(phone, live_server, codes):
    transferred = []
    phone.on("response", lambda r: transferred.append(len(r.body())))
    phone.goto(f"{live_server}/p/{codes['yc-center']}")
    phone.wait_for_load_state("networkidle")
    assert sum(transferred) <= 100_000  # first view on a slow network
    assert phone.locator("h1").inner_text() == "云川市政务服务中心"
    for landmark in ("banner", "main", "contentinfo"):
        assert phone.get_by_role(landmark).count() == 1
    unlabeled = phone.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden])')]"
        ".filter(i => !(i.labels && i.labels.length) && !i.getAttribute('aria-label')).length"
    )
    assert unlabeled == 0
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "跳到主要内容"
    assert_rendered(phone.screenshot())


def test_search_an_item_and_open_its_guide(phone, live_server, codes):
    phone.goto(f"{live_server}/p/{codes['yc-center']}")
    phone.fill("#item-filter", "身份证")
    visible = phone.locator("ul.items li[data-name]:visible")
    names = visible.all_inner_texts()
    assert names and all("身份证" in n for n in names)
    phone.get_by_role("link", name="居民身份证补领").click()
    phone.wait_for_url("**/g/990100-GA-0003?place=yc-center")
    assert phone.locator("h1").inner_text().startswith("居民身份证补领")
    assert phone.get_by_role("heading", name="一次性告知单").is_visible()
    assert phone.locator("#print-notice").is_visible()  # printing needs JavaScript: shown only with it
    assert_rendered(phone.screenshot(full_page=True))


def test_ask_a_question_and_see_the_answer_with_its_source(phone, live_server, codes):
    phone.goto(f"{live_server}/p/{codes['yc-center-c']}")
    phone.fill("#ask", "身份证丢了怎么补办")
    phone.click("#ask-form button[type=submit]")
    source = phone.locator("#conversation .turn.assistant .sources a").first
    source.wait_for(timeout=15_000)
    assert source.inner_text().startswith("居民身份证补领")
    turn = phone.locator("#conversation .turn.assistant").last
    # the short answer first (handled here, at which window), the guide's parts folded away
    assert turn.locator(".summary").inner_text().startswith("本点（云川市政务服务中心C区")
    materials = turn.locator("details.block.materials")
    assert materials.get_attribute("open") is None and not materials.locator("li").first.is_visible()
    materials.locator("summary").click()
    assert materials.locator("li").count() >= 2 and materials.locator("li").first.is_visible()
    turn.locator("details.full summary").click()
    answer = turn.locator(".text").inner_text()
    assert "材料" in answer and "本点" in answer  # scoped to this place
    assert phone.url.endswith(codes["yc-center-c"])  # answered in place, no reload
    assert_rendered(phone.screenshot())


def test_without_javascript_the_answer_also_comes_summary_first(browser, live_server, codes):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server}/p/{codes['yc-taoxi-lihua']}?ask=身份证丢了怎么补办")
    turn = page.locator("#conversation .turn.assistant").last
    assert turn.locator(".summary").inner_text().startswith("本点（梨花村便民服务站）不办理")
    assert turn.locator("details.block").count() >= 3
    context.close()


def test_elder_mode_is_large_and_remembered(phone, live_server, codes):
    url = f"{live_server}/p/{codes['yc-taoxi-lihua']}"
    phone.goto(url)
    size = lambda: phone.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")  # noqa: E731
    normal = size()
    phone.click("#elder-toggle")
    assert phone.evaluate("document.body.classList.contains('elder')") and size() >= normal * 1.25
    assert phone.locator("#elder-toggle").get_attribute("aria-pressed") == "true"
    headings = phone.evaluate(
        "[...document.querySelectorAll('h1,h2,h3')].map(h => parseFloat(getComputedStyle(h).fontSize))"
    )
    assert headings and min(headings) >= 1.2 * size(), headings  # headings stay above the body text
    phone.reload()
    assert phone.evaluate("document.body.classList.contains('elder')")  # remembered
    assert_rendered(phone.screenshot())
    phone.click("#elder-toggle")
    phone.reload()
    assert not phone.evaluate("document.body.classList.contains('elder')")


def test_text_contrast_meets_wcag_aa_in_both_modes(phone, live_server, codes):
    phone.goto(f"{live_server}/p/{codes['yc-taoxi-lihua']}")
    assert phone.evaluate(CONTRAST) == []
    phone.click("#elder-toggle")
    assert phone.evaluate(CONTRAST) == []
    phone.click("#elder-toggle")


def test_nearby_points_sort_by_the_phones_location(browser, live_server, codes):
    context = browser.new_context(
        viewport=PHONE, geolocation={"latitude": 28.1889, "longitude": 112.981}, permissions=["geolocation"]
    )
    page = context.new_page()
    page.goto(f"{live_server}/p/{codes['yc-taoxi-lihua']}")
    first = lambda: page.locator("#nearby li strong").first.inner_text()  # noqa: E731
    assert first() != "白沙街道便民服务中心"  # by the hierarchy: the village's own township first
    page.click("#sort-nearby")
    until(page, "document.getElementById('nearby-status').textContent.includes('已按')")
    assert (
        first() == "白沙街道便民服务中心" and "距您约0.0公里" in page.locator("#nearby li").first.inner_text()
    )
    context.close()


def test_a_forged_code_shows_only_the_warning(phone, live_server):
    response = phone.goto(f"{live_server}/p/FAKE12345678")
    assert response.status == 404
    alert = phone.get_by_role("alert")
    assert "此码未登记，请谨防诈骗" in alert.inner_text() and "12345" in alert.inner_text()
    assert phone.locator("form, #items, #assistant").count() == 0
    assert_rendered(phone.screenshot())


@pytest.mark.parametrize("elder", [False, True])
def test_book_from_the_phone_page_then_look_up_and_cancel(browser, live_server, codes, elder):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    violations = watch_csp(context)
    page = context.new_page()
    page.goto(f"{live_server}/p/{codes['yc-center-c']}")
    if elder:
        page.click("#elder-toggle")
    page.click("#book-link")
    page.get_by_role("link", name="居民身份证补领").click()
    page.locator(".days a").last.click()  # the last bookable day: never in the past mid-test
    page.locator(".slot:not(.full)").last.click()
    page.fill("#name", "王五")
    phone = "13700007777" if elder else "13700006666"
    page.fill("#phone", phone)
    assert_rendered(page.screenshot(full_page=True))
    page.click("#book-submit")
    assert page.locator("#booking-done").inner_text() == "预约成功"
    code = page.locator("#booking-code").inner_text()
    assert page.evaluate("document.body.classList.contains('elder')") == elder  # the flow keeps the mode
    qr = page.locator(".checkin-qr img")
    until(page, "document.querySelector('.checkin-qr img').naturalWidth > 0")
    [scanned] = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))]
    assert scanned.endswith(f"/b/{code}")

    page.goto(f"{live_server}/b/{code}")  # what the QR opens
    page.fill("#last4", phone[-4:])
    page.get_by_role("button", name="查询").click()
    assert page.locator("#booking-status").inner_text() == "已预约"
    page.click("#cancel-booking")
    assert page.locator("#booking-status").inner_text() == "已取消"
    context.close()
    assert violations == []


SPY = """
window.__spoken = [];
if (window.speechSynthesis) {
  const speak = speechSynthesis.speak.bind(speechSynthesis);
  speechSynthesis.speak = (u) => { window.__spoken.push(u.text); speak(u); };
}
"""


def test_kiosk_answers_aloud_hands_over_to_a_phone_and_resets_when_idle(browser, live_server):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    violations = watch_csp(context)
    kiosk = context.new_page()
    kiosk.add_init_script(SPY)
    kiosk.clock.install()
    kiosk.goto(f"{live_server}/kiosk?place=yc-center")
    assert kiosk.locator("#avatar").is_visible()
    buttons = kiosk.locator("button.item")
    assert buttons.count() >= 6 and buttons.first.bounding_box()["height"] >= 60  # large tap targets
    mic_status = kiosk.locator("#mic-status").inner_text()
    assert kiosk.locator("#mic").is_enabled() or "不支持语音输入" in mic_status  # voice, or a clear fallback

    kiosk.fill("#ask", "身份证丢了怎么补办")
    kiosk.click("#ask-form button[type=submit]")
    kiosk.locator("#conversation .turn.assistant").wait_for(timeout=15_000)
    assert "居民身份证补领" in kiosk.locator("#conversation .sources").inner_text()
    spoken = kiosk.evaluate("window.__spoken")
    assert spoken and "身份证" in spoken[0]
    summary = kiosk.locator("#conversation .turn.assistant .summary").inner_text()
    assert summary.startswith("本点（云川市政务服务中心）可以办理") and spoken[0].startswith(summary[:20])
    assert kiosk.locator("#conversation .turn.assistant details.block").count() >= 3  # folded parts
    assert_rendered(kiosk.screenshot())

    # the QR continues this conversation on the visitor's phone
    kiosk.locator("#handoff").wait_for(state="visible")
    until(kiosk, "document.getElementById('continue-qr').naturalWidth > 0")
    qr = Image.open(io.BytesIO(kiosk.locator("#continue-qr").screenshot()))
    [url] = [b.text for b in zxingcpp.read_barcodes(qr)]
    assert "/p/" in url and "?session=" in url
    phone = context.new_page()
    phone.goto(url.replace("http://localhost:8000", live_server))
    assert "身份证丢了怎么补办" in phone.locator("#conversation").inner_text()

    # a minute without a touch: back to the welcome, the conversation gone
    kiosk.clock.fast_forward("01:05")
    until(kiosk, "document.querySelectorAll('#conversation .turn').length === 0")
    assert kiosk.locator("#handoff").is_hidden()
    assert "您好" in kiosk.locator("#bubble").inner_text()
    context.close()
    assert violations == []  # the kiosk works within its Content-Security-Policy
