"""Issue 15 at the HTTP surface: security headers on every response, safe links, the body limit on
streamed bodies, whose X-Forwarded-For counts, no 500 on hostile JSON, and bounded scan counting."""

from __future__ import annotations

import re
import secrets
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from zhiyin.app import create_app
from zhiyin.services import Services

TEMPLATES = files("zhiyin.web") / "templates"


@pytest.fixture(scope="module")
def app(demo_settings):
    return create_app(Services(demo_settings))


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


# -- headers ---------------------------------------------------------------------------------------
def test_every_response_sends_the_security_headers(client, app):
    code = app.state.services.plates.issue("yc-center")
    framed_by_self = ("/kiosk?place=yc-center", "/screen?place=yc-center")
    never_framed = (
        "/",
        f"/p/{code}",
        "/p/AAAA-BBBB-CCCC",  # the warning page (404)
        "/g/990100-GA-0003?place=yc-center",
        "/book?place=yc-center",
        "/staff?place=yc-center",
        "/docs",
        "/api/places",
        "/api/places/nowhere",  # a JSON 404
        "/static/zhiyin.css",
        "/openapi.json",
    )
    for path in framed_by_self + never_framed:
        response = client.get(path)
        assert response.status_code < 500, path
        policy = response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, path
        assert "script-src 'self'" in policy and "object-src 'none'" in policy, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path
        framed = path in framed_by_self
        assert ("frame-ancestors 'self'" if framed else "frame-ancestors 'none'") in policy, path
        assert response.headers["x-frame-options"] == ("SAMEORIGIN" if framed else "DENY"), path
    refused = client.post("/api/chat", content=b"{" + b" " * 20_000 + b"}")
    assert refused.status_code == 413 and refused.headers["x-frame-options"] == "DENY"  # a guard's answer too


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style|\sstyle\s*=", re.I)


def test_no_page_has_an_inline_script_handler_or_style(client):
    """The CSP forbids them: a page that had one would silently lose it in the browser."""
    pages = {t.name: t.read_text(encoding="utf-8") for t in TEMPLATES.iterdir() if t.name.endswith(".html")}
    pages["/"] = client.get("/", params={"q": "身份证"}).text
    pages["/docs"] = client.get("/docs").text
    for name, page in pages.items():
        assert not INLINE_SCRIPT.search(page), name
        assert not INLINE_HANDLER.search(page), name
        assert not INLINE_STYLE.search(page), name


# -- links -------------------------------------------------------------------------------------------
HOSTILE_LINKS = (
    "javascript:alert(document.domain)",
    " JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https:evil.example",
    "//evil.example/x",
    "/relative",
)


def test_only_web_phone_and_map_links_become_links():
    from zhiyin.web.pages import link

    for url in HOSTILE_LINKS:
        assert str(link(url, "网上办理")) == "网上办理", url  # plain text, nothing to click
    assert str(link("javascript:x", "<b>")) == "&lt;b&gt;"
    assert str(link("https://zwfw.example.gov.cn/a?b=1&c=2", "网办", "button")) == (
        '<a class="button" href="https://zwfw.example.gov.cn/a?b=1&amp;c=2" rel="noopener noreferrer">网办</a>'
    )
    for url in ("http://x.example", "tel:0999-1234567", "geo:28.2,112.9?q=28.2,112.9(%E4%B8%AD)"):
        assert f'href="{url}"' in str(link(url, "x"))


def test_templates_print_links_from_data_only_through_the_link_helper():
    allowed = re.compile(r"^(?:/[^/{]|#|data:,$|tel:\{\{ hotline \}\}$)")
    for template in TEMPLATES.iterdir():
        for href in re.findall(r'\bhref="([^"]*)"', template.read_text(encoding="utf-8")):
            assert allowed.match(href), f"{template.name}: href={href!r}: print data links with link()"


def test_an_unsafe_link_that_reaches_a_page_is_plain_text(client, app, monkeypatch):
    catalog = app.state.services.catalog
    guide = catalog.guide("990100-GA-0003").model_copy(update={"online_url": HOSTILE_LINKS[0]})
    monkeypatch.setattr(catalog, "guide", lambda guide_id: guide)  # as an index written before the check
    page = client.get("/g/990100-GA-0003", params={"place": "yc-center"}).text
    assert 'href="javascript' not in page and "网上办理" in page  # shown as text, never a link

    directory = catalog.directory
    place = directory.get("yc-center").model_copy(update={"video_help": "javascript:alert(1)"})
    real_get = directory.get
    monkeypatch.setattr(directory, "get", lambda pid: place if pid == "yc-center" else real_get(pid))
    page = client.get(f"/p/{app.state.services.plates.issue('yc-center')}").text
    assert "视频连线帮办人员" in page and 'href="javascript' not in page


def test_unsafe_links_are_dropped_on_ingest_and_reported(tmp_path, caplog):
    from halls.places import load_places
    from knowledge import load_sources

    guides = tmp_path / "guides"
    guides.mkdir()
    (guides / "bad.yaml").write_text(
        "id: T-1\nname: 测试事项\nmaterials: [身份证]\nonline_url: 'javascript:alert(document.domain)'\n",
        encoding="utf-8",
    )
    (guides / "good.yaml").write_text(
        "id: T-2\nname: 另一事项\nmaterials: [身份证]\nonline_url: https://zwfw.example.gov.cn/t2\n",
        encoding="utf-8",
    )
    report = load_sources([guides])
    by_id = {s.id: s.guide for s in report.sources}
    assert by_id["T-1"].online_url is None and by_id["T-2"].online_url == "https://zwfw.example.gov.cn/t2"
    assert any("T-1" in w and "online_url" in w and "dropped" in w for _, w in report.warnings)

    places = tmp_path / "places.yaml"
    places.write_text(
        "places:\n  - {id: p1, name: 大厅, kind: hall, video_help: 'javascript:alert(1)'}\n"
        "  - {id: p2, name: 窗口, kind: window, parent: p1, video_help: 'https://video.example/p2'}\n",
        encoding="utf-8",
    )
    loaded = {p.id: p for p in load_places(places)}
    assert loaded["p1"].video_help is None and loaded["p2"].video_help == "https://video.example/p2"
    assert "video_help" in caplog.text and "p1" in caplog.text


# -- the request body ----------------------------------------------------------------------------------
def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(app):
    """No Content-Length to check beforehand: the bytes are counted as they come, and the 413 comes
    before the whole body is sent (a 10 MB body was parsed and echoed back in a 10 MB 422)."""
    import socket
    from urllib.parse import urlsplit

    from conftest import serve

    chunk = b" " * 4096
    with serve(app) as url:
        where = urlsplit(url)
        with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
            conn.sendall(
                b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + b"1\r\n{\r\n"
            )
            for _ in range(8):  # 32 KB, twice the limit; then wait, the body never finished
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            head = conn.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]


def test_a_422_does_not_echo_a_large_body_back(client):
    response = client.post("/api/chat", json={"message": "长" * 5000})
    assert response.status_code == 422
    assert len(response.content) < 1000 and response.json()["detail"][0]["loc"] == ["body", "message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/chat", '{"message": "\\ud800"}'),
        ("/api/chat", '{"message": "你好", "session_id": "\\udfff"}'),
        (
            "/api/bookings",
            '{"place": "yc-center", "item": "990100-GA-0003", "slot": "2030-01-07T09:00", '
            '"name": "张三", "phone": "1380013800\\ud800", "id_number": "\\ud800"}',
        ),
        ("/api/feedback", '{"rating": "good", "comment": "\\udc00"}'),
    ],
)
def test_a_lone_surrogate_in_json_is_a_clear_400_not_a_500(client, caplog, path, body):
    response = client.post(path, content=body.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 400 and "surrogate" in response.json()["detail"]
    assert "Traceback" not in caplog.text and "13800138" not in caplog.text
    untyped = client.post(path, content=body.encode())  # FastAPI reads a body without a type as JSON
    assert untyped.status_code == 400
    paired = client.post(
        "/api/chat",
        content='{"message": "\\ud83d\\ude00 你好"}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert paired.status_code == 200  # a valid pair (an emoji) is text


@pytest.mark.parametrize("turn_id", ["NaN", "Infinity", "1e20", str(10**20), str(2**63)])
def test_feedback_on_an_impossible_turn_is_a_422(client, turn_id):
    response = client.post(
        "/api/feedback",
        content=f'{{"rating": "good", "turn_id": {turn_id}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422


def test_a_ticket_id_beyond_the_database_is_a_422(client):
    from conftest import ADMIN_TOKEN

    for ticket in (2**63, 2**64 + 1):
        for action in ("recall", "done", "no-show"):
            response = client.post(
                f"/api/staff/tickets/{ticket}/{action}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            assert response.status_code in (404, 422), (ticket, action, response.status_code)


# -- whose X-Forwarded-For counts ----------------------------------------------------------------------
def rate_limited_codes(settings, client_host: str, forwarded: list[str], folder: Path) -> list[int]:
    # a database of its own: the limit is counted in the database, which the other calls would share
    database = f"sqlite:///{folder / secrets.token_hex(4)}.db"
    limited = settings.model_copy(update={"rate_limit_per_minute": 2, "database_url": database})
    with TestClient(create_app(Services(limited)), client=(client_host, 50000)) as http:
        return [
            http.post("/api/feedback", json={"rating": "good"}, headers={"X-Forwarded-For": ip}).status_code
            for ip in forwarded
        ]


def test_x_forwarded_for_is_believed_only_from_the_proxies_named(demo_settings, tmp_path):
    rotated = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    # by default nobody is believed, not even loopback: rotating the header changes nothing
    assert rate_limited_codes(demo_settings, "127.0.0.1", rotated, tmp_path) == [201, 201, 429]
    proxied = demo_settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1"})
    assert rate_limited_codes(proxied, "127.0.0.1", rotated, tmp_path) == [201, 201, 201]  # three clients
    assert rate_limited_codes(proxied, "127.0.0.1", rotated[:1] * 3, tmp_path) == [201, 201, 429]
    assert rate_limited_codes(proxied, "198.51.100.7", rotated, tmp_path) == [201, 201, 429]  # not the proxy


def test_serve_takes_the_proxies_to_believe(cli_env, monkeypatch):
    import uvicorn
    from click.testing import CliRunner

    from zhiyin.cli import main
    from zhiyin.settings import Settings

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(app=app, **options))
    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ZHIYIN_FORWARDED_ALLOW_IPS", raising=False)  # restored after the test
    result = CliRunner().invoke(main, ["serve", "--forwarded-allow-ips", "10.0.0.1,10.0.1.0/24"])
    assert result.exit_code == 0, result.output
    assert started["proxy_headers"] is False  # uvicorn's default believes loopback
    # each worker builds its app from the environment
    assert (started["app"], started["factory"]) == ("zhiyin.app:create_app", True)
    assert Settings().forwarded_allow_ips == "10.0.0.1,10.0.1.0/24"
    monkeypatch.delenv("ZHIYIN_FORWARDED_ALLOW_IPS")
    CliRunner().invoke(main, ["serve"])
    assert Settings().forwarded_allow_ips == ""
