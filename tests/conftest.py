"""Shared fixtures: the real embedding model (built once), the demo knowledge base (ingested once)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from knowledge import IndexWriter, KnowledgeBase, demo_dir, load_embedder, load_sources
from knowledge.model_build import build_model

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
    return KnowledgeBase(data, "demo", embedder)


@pytest.fixture
def cli_env(data_dir, models_dir, cache_dir) -> dict[str, str]:
    """Environment for running the `zhiyin` command as a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIYIN_")}
    env.update(
        ZHIYIN_DATA_DIR=str(data_dir), ZHIYIN_MODELS_DIR=str(models_dir), ZHIYIN_CACHE_DIR=str(cache_dir)
    )
    return env
