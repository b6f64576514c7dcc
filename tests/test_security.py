"""Issue 15 at the HTTP surface: security headers on every response, safe links, the body limit on
streamed bodies, whose X-Forwarded-For counts, no 500 on hostile JSON, and bounded scan counting."""

from __future__ import annotations

import re
from importlib.resources import files

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
