"""Shared fixtures: the real embedding model (built once), the demo knowledge base (ingested once)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from halls.places import load_places, save_places
from knowledge import IndexWriter, KnowledgeBase, demo_dir, load_embedder, load_sources
from knowledge.index import KbPaths
from knowledge.model_build import build_model
from zhiyin.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
MODELS = Path(os.environ.get("ZHIYIN_MODELS_DIR", ROOT / "models"))


@pytest.fixture(scope="session")
def models_dir() -> Path:
    build_model(MODELS / "multilingual-e5-small")  # idempotent: a no-op once built
    return MODELS


@pytest.fixture(scope="session")
def embedder(models_dir):
    return load_embedder("bundled", str(models_dir))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One embedding cache for the whole run, so each test's fresh index embeds only new text."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def writer_for(data_dir, embedder, cache_dir):
    def make(kb: str = "default", chroma_url: str | None = None) -> IndexWriter:
        return IndexWriter(data_dir, kb, embedder, chroma_url=chroma_url, cache_dir=cache_dir)

    return make


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory, embedder, cache_dir) -> KnowledgeBase:
    data = tmp_path_factory.mktemp("demo-data")
    report = load_sources([demo_dir() / "kb"])
    assert report.ok, report.errors + [(f.path, f.skipped) for f in report.skipped]
    IndexWriter(data, "demo", embedder, cache_dir=cache_dir).ingest(report.sources)
    save_places(load_places(demo_dir() / "places.yaml"), KbPaths(data, "demo").root / "places.json")
    return KnowledgeBase(data, "demo", embedder)


@pytest.fixture
def chroma_server(tmp_path) -> Iterator[str]:
    """A real Chroma server (``chroma run`` from the venv) on a free port; yields its url."""
    from eval.pg_cluster import free_port

    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "chroma-server"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


ADMIN_TOKEN = "test-admin-token"  # the staff endpoints' admin token on the demo server


@pytest.fixture(scope="session")
def demo_settings(demo_kb, models_dir) -> Settings:
    """Settings of a server over the demo knowledge base and its places (its own database)."""
    return Settings(
        data_dir=demo_kb.paths.root.parents[1],
        kb="demo",
        models_dir=models_dir,
        plate_secret="test-plate-secret",
        booking_secret="test-booking-secret",  # a PostgreSQL server refuses to start without both
        rate_limit_per_minute=10_000,
        admin_token=ADMIN_TOKEN,
    )


@contextmanager
def serve(app) -> Iterator[str]:
    """Run ``app`` on a free loopback port in a thread; yields its base url."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def live_app(demo_settings):
    """The app behind ``live_server``: a test may set its services' clock (``app.state.services.bookings.clock``)
    and must put it back."""
    from zhiyin.app import create_app
    from zhiyin.services import Services

    return create_app(Services(demo_settings))


@pytest.fixture(scope="session")
def live_server(live_app) -> Iterator[str]:
    """The real app over the demo knowledge base, served over HTTP for the browser."""
    with serve(live_app) as url:
        yield url


@pytest.fixture
def cli_env(data_dir, models_dir, cache_dir) -> dict[str, str]:
    """Environment for running the `zhiyin` command as a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIYIN_")}
    env.update(
        ZHIYIN_DATA_DIR=str(data_dir), ZHIYIN_MODELS_DIR=str(models_dir), ZHIYIN_CACHE_DIR=str(cache_dir)
    )
    return env


CHROMIUM = os.environ.get("ZHIYIN_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    """A real headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


# -- databases: the booking and queue tests run on SQLite and on a real PostgreSQL ---------------
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """ZHIYIN_TEST_POSTGRES_URL (a server where databases may be created), or a temporary cluster."""
    given = os.environ.get("ZHIYIN_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    from eval.pg_cluster import PostgresUnavailable, TempPostgres

    try:
        cluster = TempPostgres(durable=False).start()
    except PostgresUnavailable as exc:
        pytest.fail(f"the booking and queue tests need PostgreSQL: {exc}")
    try:
        yield cluster.url()
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A new, empty database of each kind (not yet migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'zhiyin.db'}"
        return
    import secrets

    from eval.pg_cluster import create_database, drop_database

    server, name = request.getfixturevalue("postgres_server"), f"test_{secrets.token_hex(6)}"
    yield create_database(server, name)
    drop_database(server, name)


@pytest.fixture
def db_engine(db_url):
    """An engine on a new database at the newest migration."""
    from zhiyin.db import create_db_engine, migrate

    engine = create_db_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()
