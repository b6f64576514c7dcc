"""The long-lived things a command or the web app needs, created once from the settings."""

from __future__ import annotations

from functools import lru_cache

from knowledge import IndexWriter, KnowledgeBase, load_embedder
from knowledge.embedding import Embedder
from knowledge.index import KbPaths
from zhiyin.settings import Settings, get_settings


def embedder(settings: Settings | None = None) -> Embedder:
    s = settings or get_settings()
    return load_embedder(s.embed_model, str(s.models_dir))


def index_writer(kb: str, settings: Settings | None = None) -> IndexWriter:
    s = settings or get_settings()
    return IndexWriter(s.data_dir, kb, embedder(s), s.chroma_url, cache_dir=s.cache_dir)


@lru_cache(maxsize=16)
def _kb(kb: str, data_dir: str, embed_model: str, models_dir: str, chroma_url: str | None) -> KnowledgeBase:
    from pathlib import Path

    return KnowledgeBase(Path(data_dir), kb, load_embedder(embed_model, models_dir), chroma_url)


def knowledge_base(kb: str, settings: Settings | None = None) -> KnowledgeBase:
    s = settings or get_settings()
    return _kb(kb, str(s.data_dir), s.embed_model, str(s.models_dir), s.chroma_url)


def places_file(kb: str, settings: Settings | None = None):
    s = settings or get_settings()
    return KbPaths(s.data_dir, kb).root / "places.json"


def assistant(kb: str, settings: Settings | None = None):
    """The assistant over knowledge base ``kb``, with that knowledge base's places."""
    from assistant.engine import Assistant

    s = settings or get_settings()
    rewriter = None
    if s.llm_base_url and s.llm_model:
        from assistant.llm import LLMRewriter

        rewriter = LLMRewriter(s.llm_base_url, s.llm_model, s.llm_api_key, s.llm_timeout_seconds)
    return Assistant(knowledge_base(kb, s), place_directory(kb, s), rewriter=rewriter)


def place_directory(kb: str, settings: Settings | None = None):
    """The places of knowledge base ``kb`` (saved by ``zhiyin ingest --places/--demo``), followed
    as an ingest replaces them."""
    return _saved_places(places_file(kb, settings))


@lru_cache(maxsize=16)
def _saved_places(path):
    from knowledge.places import PlaceDirectory

    return PlaceDirectory.saved(path)


def plate_registry(settings: Settings | None = None):
    from doorplate.codes import PlateRegistry
    from zhiyin.db import shared_engine

    s = settings or get_settings()
    return PlateRegistry(shared_engine(s.database), s.plate_key())
