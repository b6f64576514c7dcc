"""Issue 16's end-to-end check: two real ``zhiyin serve`` processes with separate, empty data dirs on
one PostgreSQL and one Chroma server. An ingest on the first reaches the second within seconds; a
conversation, a plate, the bookings of a slot and the rate limit are shared between them."""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import httpx
import pytest

from eval.pg_cluster import free_port

FOLLOW_SECONDS = 10  # the promise: another server answers from a new version within this
START_SECONDS = 120  # each server loads the embedding model; the machine may be busy
ADMIN_TOKEN = "two-servers-admin-token"
RATE_LIMIT = 3  # per client and minute, counted in the database across both servers
RACE_PLACE, RACE_ITEM = "yc-taoxi", "990100-SB-0004"  # 社会保障卡申领 at a township: 2 places a slot
RACE_REQUESTS = 200

# every request names its own client (X-Forwarded-For from a trusted loopback proxy), so the small
# rate limit only bites where the test means it to
_clients = count(1)


def client_ip() -> dict[str, str]:
    n = next(_clients)
    return {"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"}


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def start_server(name: str, env: dict[str, str], tmp_path: Path) -> Server:
    port = free_port()
    log = tmp_path / f"{name}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "zhiyin.cli", "serve", "--port", str(port)],
            env={
                **env,
                "ZHIYIN_DATA_DIR": str(tmp_path / name),
                "ZHIYIN_PUBLIC_URL": f"http://127.0.0.1:{port}",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with everything it started
        )
    return Server(name, f"http://127.0.0.1:{port}", process, log)


def wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        assert server.process.poll() is None, f"{server.name} exited:\n{server.tail()}"
        assert time.monotonic() < deadline, f"{server.name} did not start:\n{server.tail()}"
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)


def stop(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@pytest.fixture
def shared_env(cli_env, postgres_server, chroma_server, demo_kb) -> Iterator[dict[str, str]]:
    """What both servers share: one database, one Chroma server, the secrets and the settings.
    (``demo_kb`` fills the run's embedding cache, which the ingest then reads instead of embedding.)"""
    from eval.pg_cluster import create_database, drop_database

    name = f"test_{secrets.token_hex(6)}"
    url = create_database(postgres_server, name)
    yield {
        **cli_env,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),  # this checkout, not an installed copy
        "ZHIYIN_DATABASE_URL": url,
        "ZHIYIN_CHROMA_URL": chroma_server,
        "ZHIYIN_PLATE_SECRET": secrets.token_hex(16),
        "ZHIYIN_BOOKING_SECRET": secrets.token_hex(16),
        "ZHIYIN_ADMIN_TOKEN": ADMIN_TOKEN,
        "ZHIYIN_KB_POLL_SECONDS": "0.5",
        "ZHIYIN_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "ZHIYIN_FORWARDED_ALLOW_IPS": "127.0.0.1",  # the test is the proxy that names each client
    }
    drop_database(postgres_server, name)


@pytest.fixture
def two_servers(shared_env, tmp_path) -> Iterator[tuple[Server, Server, dict[str, str]]]:
    servers = [start_server(name, shared_env, tmp_path) for name in ("first", "second")]
    try:
        for server in servers:  # both load their models at the same time
            wait_until_up(server)
        yield servers[0], servers[1], shared_env
    finally:
        for server in servers:
            stop(server)


def chat(server: Server, message: str, session_id: str | None = None) -> httpx.Response:
    body = {"message": message, "session_id": session_id}
    return httpx.post(f"{server.url}/api/chat", json=body, headers=client_ip(), timeout=60)


def test_two_servers_share_the_knowledge_base_conversations_plates_bookings_and_the_rate_limit(
    two_servers, tmp_path
):
    first, second, env = two_servers
    # nothing ingested yet: the second says its index is not ready
    assert httpx.get(f"{second.url}/readyz", timeout=10).status_code == 503

    # -- an ingest on the first (the CLI, with the first's environment) reaches the second --------
    ingest = subprocess.run(
        [sys.executable, "-m", "zhiyin.cli", "ingest", "--demo"],
        env={**env, "ZHIYIN_DATA_DIR": str(tmp_path / "first")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    ingested = time.monotonic()
    while True:
        ready = httpx.get(f"{second.url}/readyz", timeout=10)
        answer = chat(second, "开个体户要带啥材料")
        if ready.status_code == 200 and answer.status_code == 200:
            break
        assert time.monotonic() - ingested < FOLLOW_SECONDS, (ready.text, answer.text, second.tail())
        time.sleep(0.2)
    assert ready.json()["index"] == "version 1" and ready.json()["chroma"] == "ok", ready.json()
    assert "990100-SCJG-0001" in [source["id"] for source in answer.json()["sources"]], answer.json()
    assert not (tmp_path / "second" / "kb").exists()  # nothing of the knowledge base on its disk

    # -- a conversation started on one continues on the other -------------------------------------
    session = answer.json()["session_id"]
    follow_up = chat(first, "那要多久？", session)
    assert follow_up.status_code == 200, follow_up.text
    assert follow_up.json()["session_id"] == session
    assert follow_up.json()["aspect"] == "time", follow_up.json()
    assert follow_up.json()["sources"][0]["id"] == "990100-SCJG-0001"  # still the item asked about
    history = httpx.get(f"{second.url}/api/chat/{session}", timeout=10).json()
    assert [turn["role"] for turn in history] == ["user", "assistant"] * 2

    # -- plates issued by either open on both -----------------------------------------------------
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    codes = []
    for issuer, place in ((first, "yc-taoxi"), (second, "yc-center")):
        issued = httpx.post(
            f"{issuer.url}/api/admin/plates/{place}/revoke", json={"reissue": True}, headers=admin, timeout=10
        )
        assert issued.status_code == 200, issued.text
        codes.append(issued.json()["issued"])
    for server in (first, second):
        for code in codes:
            page = httpx.get(f"{server.url}/p/{code}", timeout=10)
            assert page.status_code == 200 and "此码未登记" not in page.text, (server.name, code)

    # -- 200 concurrent bookings for one slot, split across both: exactly the capacity ------------
    slot = fresh_slot(second)
    statuses = race(slot["slot"], [first, second])
    assert statuses == {201: slot["capacity"], 409: RACE_REQUESTS - slot["capacity"]}, statuses
    for server in (first, second):
        assert slot_after(server, slot["slot"])["free"] == 0

    # -- the rate limit counts one client's requests on both servers together ---------------------
    one_client = client_ip()
    codes_seen = [
        httpx.post(f"{server.url}/api/feedback", json={}, headers=one_client, timeout=10).status_code
        for server in (first, second) * 2
    ]
    assert codes_seen == [422] * RATE_LIMIT + [429] * (4 - RATE_LIMIT), codes_seen


def fresh_slot(server: Server) -> dict:
    """The first slot in the booking window with all its places free."""
    info = httpx.get(f"{server.url}/api/places/{RACE_PLACE}/booking", timeout=10)
    assert info.status_code == 200, info.text
    for day in info.json()["dates"]:
        slots = httpx.get(
            f"{server.url}/api/places/{RACE_PLACE}/slots", params={"item": RACE_ITEM, "date": day}, timeout=10
        ).json()
        for slot in slots:
            if slot["free"] == slot["capacity"] > 0:
                return slot
    pytest.fail(f"no free slot at {RACE_PLACE} in {info.json()['dates']}")


def slot_after(server: Server, slot: str) -> dict:
    day = slot[:10]
    slots = httpx.get(
        f"{server.url}/api/places/{RACE_PLACE}/slots", params={"item": RACE_ITEM, "date": day}, timeout=10
    ).json()
    return next(s for s in slots if s["slot"] == slot)


def race(slot: str, servers: list[Server]) -> Counter:
    """RACE_REQUESTS bookings of ``slot`` from as many phones, alternating between the servers,
    released together by a barrier."""
    rng = random.Random(16)
    statuses: Counter = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(RACE_REQUESTS)

    phones = [f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}" for _ in range(RACE_REQUESTS)]
    clients = [client_ip() for _ in range(RACE_REQUESTS)]

    def book(n: int) -> None:
        body = {"place": RACE_PLACE, "item": RACE_ITEM, "slot": slot, "name": "测试用户", "phone": phones[n]}
        headers = clients[n]
        with httpx.Client(base_url=servers[n % len(servers)].url, timeout=120) as http:
            barrier.wait()
            try:
                status = http.post("/api/bookings", json=body, headers=headers).status_code
            except httpx.TransportError:
                status = 0
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=book, args=(n,)) for n in range(RACE_REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses
