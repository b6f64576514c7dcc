"""The HTTP surface of issue 2: health, search API and the search page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from zhiyin.app import create_app
from zhiyin.services import Services
from zhiyin.settings import Settings


@pytest.fixture
def client(demo_kb, models_dir) -> TestClient:
    settings = Settings(data_dir=demo_kb.paths.root.parents[1], kb="demo", models_dir=models_dir)
    return TestClient(create_app(Services(settings)))


def test_health(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_search_api_returns_ranked_sources(client):
    hits = client.get("/api/search", params={"q": "开个体户要带啥材料", "k": 3}).json()
    assert len(hits) == 3
    ids = [h["id"] for h in hits]
    assert "990100-SCJG-0001" in ids[:2]  # the guide, possibly after the FAQ row asking exactly this
    assert next(h for h in hits if h["id"] == "990100-SCJG-0001")["title"] == "个体工商户设立登记"
    assert {"id", "title", "kind", "section", "score"} <= set(hits[0])
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]


def test_search_api_rejects_bad_input_clearly(client):
    assert client.get("/api/search").status_code == 422
    assert client.get("/api/search", params={"q": "x" * 501}).status_code == 422
    assert client.get("/api/search", params={"q": "身份证", "k": 0}).status_code == 422
    assert client.get("/api/search", params={"q": "身份证", "kb": "../../etc"}).status_code == 422
    missing = client.get("/api/search", params={"q": "身份证", "kb": "absent"})
    assert missing.status_code == 404 and "zhiyin ingest" in missing.json()["detail"]


def test_search_page_renders_results_escaped(client):
    page = client.get("/", params={"q": "<script>身份证丢了</script>"})
    assert page.status_code == 200 and "居民身份证补领" in page.text
    assert "<script>身份证" not in page.text and "&lt;script&gt;" in page.text
