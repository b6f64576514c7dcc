"""The admin's HTTP use-cases (the same functions as the CLI): plates revoked and re-issued, clerks'
tokens added and revoked, old visits purged — only with the admin token."""

from __future__ import annotations

import pytest
from booking_helpers import ADMIN_SECRET, TUESDAY, Clock, booking_app
from fastapi.testclient import TestClient

ADMIN = {"Authorization": f"Bearer {ADMIN_SECRET}"}


@pytest.fixture
def app(demo_settings, tmp_path):
    with booking_app(demo_settings, f"sqlite:///{tmp_path / 'zhiyin.db'}", Clock(TUESDAY, 9)) as app:
        yield app


@pytest.fixture
def client(app):
    with TestClient(app) as http:
        yield http


def test_only_the_admin_token_may_act(client, app):
    clerk = {"Authorization": f"Bearer {app.state.services.staff.add('王芳', place_id='yc-center')}"}
    for headers, status in (({}, 401), ({"Authorization": "Bearer wrong"}, 401), (clerk, 403)):
        assert client.get("/api/admin/clerks", headers=headers).status_code == status
        assert client.post("/api/admin/purge", json={}, headers=headers).status_code == status


def test_a_revoked_plate_warns_and_the_reissued_one_opens_the_place(client, app):
    old = app.state.services.plates.issue("yc-taoxi")
    done = client.post("/api/admin/plates/yc-taoxi/revoke", json={"reissue": True}, headers=ADMIN)
    assert done.status_code == 200 and done.json()["revoked"] == [old]
    new = done.json()["issued"]
    assert new and new != old
    assert client.get(f"/p/{old}").status_code == 404  # the fraud warning page
    assert client.get(f"/p/{new}").status_code == 200
    again = client.post("/api/admin/plates/yc-taoxi/revoke", json={}, headers=ADMIN)
    assert again.status_code == 200 and again.json() == {
        "place": "yc-taoxi",
        "revoked": [new],
        "issued": None,
    }
    assert client.post("/api/admin/plates/yc-taoxi/revoke", json={}, headers=ADMIN).status_code == 404
    assert client.post("/api/admin/plates/nowhere/revoke", json={}, headers=ADMIN).status_code == 404


def test_a_clerk_token_is_made_shown_once_used_and_revoked(client):
    made = client.post("/api/admin/clerks", json={"name": "李强", "place": "yc-center"}, headers=ADMIN)
    assert made.status_code == 201
    clerk = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/api/staff/places/yc-center/queue", headers=clerk).status_code == 200
    assert [c["name"] for c in client.get("/api/admin/clerks", headers=ADMIN).json()] == ["李强"]
    assert "token" not in client.get("/api/admin/clerks", headers=ADMIN).json()[0]
    twice = client.post("/api/admin/clerks", json={"name": "李强"}, headers=ADMIN)
    assert twice.status_code == 409
    assert client.delete("/api/admin/clerks/李强", headers=ADMIN).status_code == 204
    assert client.get("/api/staff/places/yc-center/queue", headers=clerk).status_code == 401
    assert client.delete("/api/admin/clerks/李强", headers=ADMIN).status_code == 404
    bad = client.post("/api/admin/clerks", json={"name": "", "window": "C 12"}, headers=ADMIN)
    assert bad.status_code == 422


def test_purge_deletes_only_what_is_past_its_days(client, app):
    import datetime as dt

    from booking_helpers import CARD, PHONE, at

    services = app.state.services
    record, _ = services.bookings.book("yc-taoxi", CARD, at(TUESDAY, 10), "张三丰", PHONE)
    kept = client.post("/api/admin/purge", json={"days": 1}, headers=ADMIN)
    assert kept.status_code == 200 and kept.json()["deleted"]["bookings"] == 0
    services.bookings.clock.set(TUESDAY + dt.timedelta(days=3), 9)  # three days on, keeping one
    gone = client.post("/api/admin/purge", json={"days": 1}, headers=ADMIN).json()
    assert gone["before"] == (TUESDAY + dt.timedelta(days=2)).isoformat() and gone["deleted"]["bookings"] == 1
    assert client.get(f"/api/bookings/{record.code}", params={"last4": PHONE[-4:]}).status_code == 404
    assert client.post("/api/admin/purge", json={"days": 0}, headers=ADMIN).status_code == 422
