"""Several servers on one database: shared secrets required, one rate limit across processes, one
purge at a time, a readiness check, and ``zhiyin serve --workers``."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from booking_helpers import CARD, LAST4, MONDAY, PHONE, TUESDAY, Clock, at
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from eval.pg_cluster import free_port
from halls.rates import RateLimiter, request_counts, wait_seconds
from zhiyin.app import create_app
from zhiyin.db import PG_PURGE_LOCK
from zhiyin.services import Services
from zhiyin.settings import Settings, SettingsError
from zhiyin.usecases import purge_visits

ZHIYIN = str(Path(sys.executable).parent / "zhiyin")
PG_URL = "postgresql+psycopg://zhiyin@db.invalid/zhiyin"  # never reached: refused before connecting


def test_a_shared_database_without_both_secrets_is_refused_naming_them(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=PG_URL, plate_secret="p")
    with pytest.raises(SettingsError) as refused:
        Services(settings)
    message = str(refused.value)
    assert "ZHIYIN_PLATE_SECRET" in message and "ZHIYIN_BOOKING_SECRET" in message
    assert "missing: ZHIYIN_BOOKING_SECRET" in message
    assert not (tmp_path / "booking-secret").exists()  # no per-server secret was made
    Settings(data_dir=tmp_path).check_secrets()  # SQLite keeps its made-once secrets
    Settings(data_dir=tmp_path, database_url=PG_URL, plate_secret="p", booking_secret="b").check_secrets()


def test_zhiyin_serve_refuses_a_shared_database_without_secrets_in_one_line(cli_env):
    env = {**cli_env, "ZHIYIN_DATABASE_URL": PG_URL}
    run = subprocess.run([ZHIYIN, "serve"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "ZHIYIN_PLATE_SECRET and ZHIYIN_BOOKING_SECRET" in run.stderr
    assert "Traceback" not in run.stderr
    revoke = subprocess.run(  # any command that needs a secret says the same
        [ZHIYIN, "plates", "revoke", "yc-taoxi"], env=env, capture_output=True, text=True, timeout=120
    )
    assert revoke.returncode == 2 and "ZHIYIN_BOOKING_SECRET" in revoke.stderr
    assert "Traceback" not in revoke.stderr


# -- the rate limit, counted in the database -------------------------------------------------------
class WallClock:
    def __init__(self, at: float):
        self.at = at

    def __call__(self) -> float:
        return self.at


def test_the_wait_follows_a_sliding_minute():
    assert wait_seconds(3, previous=0, current=3, into=10) == 0
    # 3 by 0:10: in the next minute they weigh 3 × (1 - s/60), room for one more from 1:20
    assert wait_seconds(3, previous=0, current=4, into=10) == 70
    # 6 in the minute before and 1 now: 6 × (1 - s/60) + 2 <= 4 from 40 s on
    assert wait_seconds(4, previous=6, current=2, into=10) == 30
    assert wait_seconds(4, previous=6, current=2, into=41) == 0
    # a full minute weighs on the next: with 1 a minute, the next one comes a whole minute later
    assert wait_seconds(1, previous=0, current=2, into=0) == 120


def test_two_servers_share_one_limit_and_old_minutes_are_deleted(db_engine):
    clock = WallClock(600 * 60 + 5)
    first, second = (RateLimiter(db_engine, 3, clock=clock) for _ in range(2))
    waits = [limiter.retry_after("10.0.0.9") for limiter in (first, second, first, second)]
    assert waits[:3] == [0, 0, 0] and waits[3] == 75
    assert second.retry_after("10.0.0.8") == 0  # another client counts on its own
    clock.at += 60  # the minute before still weighs: 3 × (1 - 5/60) + 1 > 3
    assert first.retry_after("10.0.0.9") > 0
    clock.at += 50  # 3 × (1 - 55/60) + 1 <= 3: a refused request was not counted
    assert second.retry_after("10.0.0.9") == 0
    clock.at += 180
    assert first.retry_after("x" * 500) == 0  # a forwarded name too long for the key is cut
    with db_engine.connect() as conn:
        assert conn.execute(select(request_counts.c.minute).distinct()).scalars().all() == [604]


def test_the_apps_of_two_processes_count_one_client_together(demo_settings, tmp_path):
    settings = demo_settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'shared.db'}", "rate_limit_per_minute": 3}
    )
    apps = [TestClient(create_app(Services(settings))) for _ in range(2)]  # each with its own services
    codes = [apps[i % 2].post("/api/feedback", json={}).status_code for i in range(4)]
    assert codes[:3] == [422, 422, 422] and codes[3] == 429


# -- the purge, one server at a time ---------------------------------------------------------------
def test_a_purge_pass_is_skipped_while_another_server_purges(demo_settings, db_url):
    services = Services(demo_settings.model_copy(update={"database_url": db_url, "kb_store": "files"}))
    services.bookings.clock = Clock(MONDAY, 10)
    old, _ = services.bookings.book("yc-taoxi", CARD, at(TUESDAY, 9), "张三丰", PHONE)
    long_after = at(TUESDAY + dt.timedelta(days=200), 10)
    try:
        if db_url.startswith("postgresql"):
            with services.engine.connect() as other_server:
                other_server.exec_driver_sql(f"SELECT pg_advisory_lock({PG_PURGE_LOCK})")
                assert purge_visits(services, now=long_after, wait=False)[1] == {}
                assert services.bookings.lookup(old.code, LAST4).status == "booked"
                other_server.exec_driver_sql(f"SELECT pg_advisory_unlock({PG_PURGE_LOCK})")
        assert purge_visits(services, now=long_after, wait=False)[1]["bookings"] == 1
        with services.engine.connect() as conn:  # the lock was given back with the connection
            if conn.dialect.name == "postgresql":
                held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s"
                assert conn.exec_driver_sql(held, (PG_PURGE_LOCK,)).scalar() == 0
    finally:
        services.engine.dispose()


# -- readiness ------------------------------------------------------------------------------------
def test_readyz_answers_200_when_the_database_and_the_index_answer(demo_settings):
    client = TestClient(create_app(Services(demo_settings)))
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "ready": True,
        "failing": [],
        "database": "ok",
        "chroma": "embedded",
        "index": f"version {Services(demo_settings).knowledge_base().version}",
    }
    assert client.get("/healthz").status_code == 200


def test_readyz_answers_503_naming_the_database_chroma_and_an_empty_index(demo_settings, tmp_path):
    settings = demo_settings.model_copy(
        update={"data_dir": tmp_path / "empty", "kb": "none", "chroma_url": "http://127.0.0.1:9"}
    )
    services = Services(settings)
    client = TestClient(create_app(services))
    services.__dict__["engine"] = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")  # down
    try:
        answer = client.get("/readyz")
    finally:
        services.__dict__["engine"].dispose()
    assert answer.status_code == 503
    body = answer.json()
    assert body["ready"] is False and body["failing"] == ["database", "chroma", "index"]
    assert body["database"] == body["chroma"] == "unavailable"  # no host or port told to the caller
    assert "knowledge base 'none' is empty" in body["index"]
    assert client.get("/healthz").status_code == 200  # alive all the same


# -- zhiyin serve --workers -------------------------------------------------------------------------
def get(url: str, method: str = "GET", body: bytes | None = None) -> int:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_zhiyin_serve_runs_workers_that_share_the_limit_and_redact_the_log(cli_env, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**cli_env, "ZHIYIN_RATE_LIMIT_PER_MINUTE": "3"}
    with open(log, "w") as out:
        server = subprocess.Popen(
            [ZHIYIN, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the workers are in its group: killed with it at the end
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while log.read_text().count("Application startup complete") < 2:  # each worker built its app
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert log.read_text().count("Started server process") == 2
        assert get(f"{base}/healthz") == 200
        codes = [get(f"{base}/api/feedback", "POST", b"{}") for _ in range(4)]  # a new connection each
        assert codes == [422, 422, 422, 429]
        assert get(f"{base}/api/bookings/ABCD2345?last4=9876") == 404
        time.sleep(0.5)
        logged = log.read_text()
        assert "last4=***" in logged and "9876" not in logged
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
