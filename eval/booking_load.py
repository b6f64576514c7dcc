"""Booking benchmarks against a real server process on loopback (``zhiyin bench booking``).

1. race: N concurrent requests (threads, connections opened first, released together by a barrier)
   for the last free place of a slot — exactly one 201, the rest 409 — repeated per round;
2. throughput: bookings/s from a fixed number of keep-alive clients for a bounded time;
3. crash: a burst of bookings, the server SIGKILLed in the middle, restarted on the same database:
   every booking that got a 201 must be there, no slot over capacity, every slot's count equal to
   its active bookings.

The server runs as ``uvicorn zhiyin.app:create_app --factory`` over the demo knowledge base, with
the demo places adjusted for the benchmark (see ``bench_places``). Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from eval.metrics import percentile

RACE_PLACE, RACE_ITEM = "yc-taoxi", "990100-SB-0004"  # 社会保障卡申领 at a township: 2 places per slot
LOAD_PLACE = "yc-center"  # the city hall: five groups, capacities raised for the throughput run
CRASH_PLACE = "yc-qingshi"  # real capacities (3-4 per slot): the crash burst competes for places
CRASH_SLOTS = 40  # per group: ~700 places, more than a 1.5-second burst takes


# -- the server ----------------------------------------------------------------------------------
def bench_places(load_capacity: int) -> list:
    """The demo places with wider booking windows (the race needs 20 fresh slots even across the
    Spring Festival) and, at the load place, capacities high enough for a throughput run."""
    from halls.places import load_places
    from knowledge import demo_dir

    places = []
    for place in load_places(demo_dir() / "places.yaml"):
        if place.booking is not None:
            config = place.booking.model_copy(update={"days_ahead": 30})
            if place.id == LOAD_PLACE:
                groups = [g.model_copy(update={"capacity": load_capacity}) for g in config.groups]
                config = config.model_copy(update={"groups": groups})
            place = place.model_copy(update={"booking": config})
        places.append(place)
    return places


def prepare_data(data_dir: Path, settings, load_capacity: int) -> None:
    """Index the demo knowledge base (cached embeddings make this seconds) and install the places."""
    from halls.places import save_places
    from knowledge import IndexWriter, demo_dir, load_embedder, load_sources
    from knowledge.index import KbPaths

    embedder = load_embedder(settings.embed_model, str(settings.models_dir))
    cache = settings.cache_dir or settings.data_dir / "cache"
    IndexWriter(data_dir, "demo", embedder, cache_dir=cache).ingest(load_sources([demo_dir() / "kb"]).sources)
    save_places(bench_places(load_capacity), KbPaths(data_dir, "demo").root / "places.json")


class BenchServer:
    """The app in its own process group, so a kill reaches it (and its workers) and nothing else."""

    def __init__(self, data_dir: Path, database_url: str, settings, workers: int = 1):
        from eval.pg_cluster import free_port

        self.port = free_port()
        self.workers = workers
        self.log = data_dir / "server.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIYIN_")}
        self.env.update(
            ZHIYIN_DATA_DIR=str(data_dir),
            ZHIYIN_KB="demo",
            ZHIYIN_DATABASE_URL=database_url,
            ZHIYIN_KB_STORE="files",  # prepare_data indexed the demo into the data dir
            ZHIYIN_MODELS_DIR=str(settings.models_dir),
            ZHIYIN_EMBED_MODEL=settings.embed_model,
            ZHIYIN_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
            ZHIYIN_BOOKING_SECRET=secrets.token_hex(16),
            ZHIYIN_PLATE_SECRET=secrets.token_hex(16),  # a server on PostgreSQL refuses to start without both
            ZHIYIN_RATE_LIMIT_PER_MINUTE="100000000",  # one load client stands for many visitors
        )
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "zhiyin.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{tail}")
            try:
                if request(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {timeout}s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush — what a power cut does to the process."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


# -- HTTP ----------------------------------------------------------------------------------------
def request(port: int, method: str, path: str, body: dict | None = None, conn=None) -> tuple[int, dict]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, payload, {"Content-Type": "application/json"} if payload else {})
        response = conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else {})
    finally:
        if own:
            conn.close()


def random_phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def booking_body(place: str, item: str, slot: str, rng: random.Random) -> dict:
    return {"place": place, "item": item, "slot": slot, "name": "测试用户", "phone": random_phone(rng)}


def free_slots(port: int, place: str, item: str) -> list[dict]:
    """Every bookable slot of an item in the booking window, with its free places."""
    status, info = request(port, "GET", f"/api/places/{place}/booking")
    assert status == 200, info
    slots = []
    for day in info["dates"]:
        status, listed = request(port, "GET", f"/api/places/{place}/slots?item={item}&date={day}")
        assert status == 200, listed
        slots += listed
    return slots


# -- 1. the race ---------------------------------------------------------------------------------
@dataclass
class RaceRound:
    slot: str
    statuses: Counter = field(default_factory=Counter)
    free_after: int = -1

    @property
    def ok(self) -> bool:
        return self.statuses.get(201, 0) == 1 and self.statuses.get(409, 0) == sum(self.statuses.values()) - 1


def race_round(port: int, slot: dict, concurrency: int, rng: random.Random) -> RaceRound:
    for _ in range(slot["free"] - 1):  # leave exactly one free place
        status, body = request(
            port, "POST", "/api/bookings", booking_body(RACE_PLACE, RACE_ITEM, slot["slot"], rng)
        )
        assert status == 201, body
    bodies = [booking_body(RACE_PLACE, RACE_ITEM, slot["slot"], rng) for _ in range(concurrency)]
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=120) for _ in range(concurrency)]
    for conn in conns:
        conn.connect()  # connected before the start, so the requests really arrive together
    barrier = threading.Barrier(concurrency)
    result = RaceRound(slot["slot"])
    lock = threading.Lock()

    def client(n: int) -> None:
        barrier.wait()
        try:
            status, _ = request(port, "POST", "/api/bookings", bodies[n], conns[n])
        except OSError:
            status = 0
        with lock:
            result.statuses[status] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for conn in conns:
        conn.close()
    day = slot["slot"][:10]
    _, listed = request(port, "GET", f"/api/places/{RACE_PLACE}/slots?item={RACE_ITEM}&date={day}")
    result.free_after = next(s["free"] for s in listed if s["slot"] == slot["slot"])
    return result


def run_race(port: int, rounds: int, concurrency: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    fresh = [s for s in free_slots(port, RACE_PLACE, RACE_ITEM) if s["free"] == s["capacity"]]
    if len(fresh) < rounds:
        raise RuntimeError(f"only {len(fresh)} fresh slots for {rounds} rounds")
    started = time.monotonic()
    results = [race_round(port, slot, concurrency, rng) for slot in fresh[:rounds]]
    return {
        "rounds": rounds,
        "concurrency": concurrency,
        "rounds_ok": sum(r.ok and r.free_after == 0 for r in results),
        "status_counts": dict(sum((r.statuses for r in results), Counter())),
        "failed_rounds": [
            {"slot": r.slot, "statuses": dict(r.statuses), "free_after": r.free_after}
            for r in results
            if not (r.ok and r.free_after == 0)
        ],
        "seconds": round(time.monotonic() - started, 1),
    }


# -- 2. throughput -------------------------------------------------------------------------------
def run_throughput(
    port: int, clients: int, seconds: float, max_requests: int = 200_000, seed: int = 2
) -> dict:
    status, info = request(port, "GET", f"/api/places/{LOAD_PLACE}/booking")
    assert status == 200, info
    by_group: dict[str, list[str]] = {}
    for item in info["items"]:
        by_group.setdefault(item["group"], []).append(item["id"])
    targets = []  # (item, slot): one item per group, every slot of the window
    for items in by_group.values():
        targets += [(items[0], s["slot"]) for s in free_slots(port, LOAD_PLACE, items[0])]
    statuses: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    budget = iter(range(max_requests))
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: Counter = Counter()
        mine_latencies = []
        while time.monotonic() < deadline and next(budget, None) is not None:
            item, slot = rng.choice(targets)
            began = time.perf_counter()
            try:
                status, _ = request(
                    port, "POST", "/api/bookings", booking_body(LOAD_PLACE, item, slot, rng), conn
                )
            except OSError:
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine_latencies.append((time.perf_counter() - began) * 1000)
            mine[status] += 1
        conn.close()
        with lock:
            statuses.update(mine)
            latencies.extend(mine_latencies)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": sum(statuses.values()),
        "status_counts": dict(statuses),
        "bookings_per_s": round(statuses.get(201, 0) / elapsed, 1),
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p95": round(percentile(latencies, 95), 1),
    }


# -- 3. crash ------------------------------------------------------------------------------------
def run_crash(server: BenchServer, database_url: str, clients: int, kill_after: float, seed: int = 3) -> dict:
    """Burst bookings at the crash place, SIGKILL the server mid-burst, restart, check."""
    port = server.port
    status, info = request(port, "GET", f"/api/places/{CRASH_PLACE}/booking")
    assert status == 200, info
    item_of_group = {}
    for item in info["items"]:
        item_of_group.setdefault(item["group"], item["id"])
    targets = []  # the first slots of each group: places run out while the burst runs, so requests compete
    for item in item_of_group.values():
        targets += [
            (item, s["slot"])
            for s in [s for s in free_slots(port, CRASH_PLACE, item) if s["free"]][:CRASH_SLOTS]
        ]
    confirmed: list[tuple[float, str, str]] = []  # (when, code, last4) of every 201
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            item, slot = rng.choice(targets)
            body = booking_body(CRASH_PLACE, item, slot, rng)
            try:
                status, answer = request(port, "POST", "/api/bookings", body, conn)
            except (OSError, http.client.HTTPException, json.JSONDecodeError):
                with lock:
                    statuses["connection error"] += 1
                return  # the server is gone
            with lock:
                statuses[status] += 1
                if status == 201:
                    confirmed.append((time.monotonic(), answer["code"], body["phone"][-4:]))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    time.sleep(kill_after)
    server.kill()
    killed_at = time.monotonic()
    stop.set()
    for t in threads:
        t.join()
    server.start()
    restarted = round(time.monotonic() - killed_at, 1)
    missing = [
        code
        for _, code, last4 in confirmed
        if request(port, "GET", f"/api/bookings/{code}?last4={last4}")[0] != 200
    ]
    return {
        "clients": clients,
        "killed_after_s": kill_after,
        "status_counts": {str(k): v for k, v in statuses.items()},
        "confirmed": len(confirmed),
        # bookings still being confirmed right up to the kill: it landed mid-burst
        "confirmed_in_last_250ms_before_kill": sum(
            killed_at - 0.25 <= t <= killed_at for t, _, _ in confirmed
        ),
        "confirmed_missing_after_restart": len(missing),
        "restart_s": restarted,
        **consistency(database_url),
    }


def consistency(database_url: str) -> dict:
    """Straight from the database: slots over capacity, and slots whose count differs from their
    active bookings (either would mean a lost or a double booking)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            over = conn.execute(text("SELECT count(*) FROM slot_counts WHERE booked > capacity")).scalar_one()
            mismatched = conn.execute(
                text(
                    "SELECT count(*) FROM slot_counts s WHERE s.booked <> (SELECT count(*) FROM bookings b "
                    "WHERE b.place_id = s.place_id AND b.group_letter = s.group_letter AND b.slot = s.slot "
                    "AND b.status <> 'cancelled')"
                )
            ).scalar_one()
            total = conn.execute(text("SELECT count(*) FROM bookings")).scalar_one()
    finally:
        engine.dispose()
    return {"bookings_in_db": total, "slots_over_capacity": over, "slots_count_mismatch": mismatched}


# -- all three, for one database -----------------------------------------------------------------
def bench_database(
    spec: str,
    data_dir: Path,
    settings,
    *,
    rounds: int = 20,
    concurrency: int = 200,
    seconds: float = 10.0,
    clients: int = 16,
    workers: int = 1,
    crash_clients: int = 16,
    kill_after: float = 1.5,
    crashes: int = 3,
    progress=print,
) -> dict:
    """``spec``: ``sqlite`` (a new file), ``postgres`` (a temporary local cluster with PostgreSQL's
    durable defaults), or a database URL (give a scratch database: the benchmark writes to it)."""
    import contextlib

    from eval.pg_cluster import TempPostgres

    with contextlib.ExitStack() as stack:
        if spec == "sqlite":
            db_file = data_dir / f"bench-{secrets.token_hex(3)}.db"
            url = f"sqlite:///{db_file}"
        elif spec in ("postgres", "postgresql"):
            cluster = stack.enter_context(TempPostgres(durable=True))
            url = cluster.create_database("bench")
        else:
            url = spec
        server = BenchServer(data_dir, url, settings, workers=workers)
        stack.callback(server.stop)
        progress(f"[{spec}] starting the server")
        server.start()
        progress(f"[{spec}] race: {rounds} rounds × {concurrency} concurrent requests for the last place")
        race = run_race(server.port, rounds, concurrency)
        progress(f"[{spec}] throughput: {clients} clients for {seconds}s")
        throughput = run_throughput(server.port, clients, seconds)
        progress(f"[{spec}] crash ×{crashes}: {crash_clients} clients, SIGKILL after {kill_after}s, restart")
        runs = [run_crash(server, url, crash_clients, kill_after) for _ in range(crashes)]
        crash = {
            "crashes": crashes,
            "confirmed": sum(r["confirmed"] for r in runs),
            "confirmed_in_last_250ms_before_kill": [r["confirmed_in_last_250ms_before_kill"] for r in runs],
            "confirmed_missing_after_restart": sum(r["confirmed_missing_after_restart"] for r in runs),
            "slots_over_capacity": max(r["slots_over_capacity"] for r in runs),
            "slots_count_mismatch": max(r["slots_count_mismatch"] for r in runs),
            "runs": runs,
        }
        database = "sqlite" if url.startswith("sqlite") else url.split("://", 1)[0]
        return {
            "database": database,
            "workers": workers,
            "race": race,
            "throughput": throughput,
            "crash": crash,
        }
