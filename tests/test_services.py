"""The services root: a node with no embedding model and no vector index still serves the halls —
plates, places, bookings and the queue — while the assistant says plainly why it is not ready."""

from __future__ import annotations

import shutil

from booking_helpers import CARD, MONDAY, PHONE, TUESDAY, Clock, at, booking_app
from fastapi.testclient import TestClient

from zhiyin.services import Services


def test_a_node_without_model_or_index_books_queues_and_shows_plates(demo_settings, tmp_path):
    data = tmp_path / "data"
    # the demo's guides and places as ingested, without its vectors; and no model at all
    shutil.copytree(
        demo_settings.data_dir / "kb" / "demo", data / "kb" / "demo", ignore=shutil.ignore_patterns("chroma")
    )
    assert not list(data.rglob("chroma"))
    settings = demo_settings.model_copy(update={"data_dir": data, "models_dir": tmp_path / "no-models"})
    clock = Clock(MONDAY, 10)
    with booking_app(settings, f"sqlite:///{tmp_path / 'zhiyin.db'}", clock) as app, TestClient(app) as http:
        services: Services = app.state.services
        page = http.get(f"/p/{services.plates.issue('yc-taoxi')}")
        assert page.status_code == 200 and "社会保障卡" in page.text  # the items handled there

        booked = http.post(
            "/api/bookings",
            json={
                "place": "yc-taoxi",
                "item": CARD,
                "slot": at(TUESDAY, 9).isoformat(),
                "name": "张三丰",
                "phone": PHONE,
            },
        )
        assert booked.status_code == 201, booked.text
        clock.set(TUESDAY, 8, 55)
        ticket = http.post("/api/checkin", json={"code": booked.json()["code"]})
        assert ticket.status_code == 201 and ticket.json()["ticket"].startswith("A")
        assert http.get("/kiosk", params={"place": "yc-taoxi"}).status_code == 200

        chat = http.post("/api/chat", json={"message": "开个体户要带啥材料"})
        assert chat.status_code == 503 and "zhiyin model build" in chat.json()["detail"]
        assert http.get("/api/search", params={"q": "身份证"}).status_code == 503
