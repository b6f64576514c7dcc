"""The services root: every long-lived thing a command or a request needs, made once from the settings.

    services = Services(get_settings())
    services.bookings.book(...)            # the database, places and guides: no model needed
    services.chat.chat("开个体户要带啥")     # loads the embedding model and the index on first use

The web app (``zhiyin.app.create_app``) and the CLI (``zhiyin.cli``) both build one and take what
they need from it. Plates, bookings, the queue, the pages and the clerks need neither the embedding
model nor an index: the guides come from ``SourceStore``. Search and the assistant load the model
on first use and raise ``EmbeddingModelError`` / ``KnowledgeBaseError`` (503 on the web) until
they can.
"""

from __future__ import annotations

import threading
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from doorplate.booking import BookingService
from doorplate.catalog import ServiceCatalog
from doorplate.codes import PlateRegistry
from doorplate.queue import QueueService
from doorplate.staff import StaffDirectory
from halls.asks import AskCounts
from halls.places import DbPlaceDirectory, Place, PlaceDirectory, save_db_places, save_places
from halls.rates import RateLimiter
from knowledge import IndexWriter, KnowledgeBase, SourceStore, list_kbs, load_embedder
from knowledge.embedding import Embedder
from knowledge.versions import DbVersions, FileVersions, KbPaths, VersionStore, list_db_kbs
from zhiyin.db import prepare_database
from zhiyin.settings import Settings, get_settings

if TYPE_CHECKING:
    from assistant.chat import ChatService
    from assistant.engine import Assistant
    from assistant.sessions import SessionStore


class Services:
    """One knowledge base's services (``settings.kb``); other knowledge bases by name through
    ``knowledge_base(name)``, ``index_writer(name)`` and ``place_directory(name)``."""

    def __init__(self, settings: Settings | None = None):
        """``SettingsError`` for settings that cannot run: a shared database without its secrets
        (refused before anything touches the database or makes a secret of its own)."""
        self.settings = settings or get_settings()
        self.settings.check_secrets()
        self._assistant_lock = threading.Lock()

    def prepare(self) -> Services:
        """Make now what needs no model (the schema at the newest migration first), so that no
        request pays for it and two first requests never make it twice."""
        for name in (
            "engine",
            "catalog",
            "plates",
            "bookings",
            "queue",
            "staff",
            "sessions",
            "asks",
            "rate_limiter",
        ):
            getattr(self, name)
        return self

    # -- the database and what lives in it (no model) ----------------------------------------
    @cached_property
    def engine(self) -> Engine:
        """The shared engine, its schema at the newest migration."""
        return prepare_database(self.settings.database)

    @cached_property
    def places(self) -> PlaceDirectory:
        return self.place_directory()

    @cached_property
    def sources(self) -> SourceStore:
        return _source_store(self.kb_versions())

    @cached_property
    def catalog(self) -> ServiceCatalog:
        return ServiceCatalog(self.sources, self.places)

    @cached_property
    def plates(self) -> PlateRegistry:
        return PlateRegistry(self.engine, self.settings.plate_key())

    @cached_property
    def bookings(self) -> BookingService:
        return BookingService(self.engine, self.catalog, self.settings.booking_key())

    @cached_property
    def queue(self) -> QueueService:
        return QueueService(self.engine, self.bookings)

    @cached_property
    def staff(self) -> StaffDirectory:
        token = self.settings.admin_token
        return StaffDirectory(self.engine, token.get_secret_value() if token else None)

    @cached_property
    def sessions(self) -> SessionStore:
        from assistant.sessions import SessionStore

        return SessionStore(self.engine, self.settings.session_ttl_minutes)

    @cached_property
    def asks(self) -> AskCounts:
        return AskCounts(self.engine)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Requests per client per minute, counted in the database: one limit for every server."""
        return RateLimiter(self.engine, self.settings.rate_limit_per_minute)

    @property
    def public_url(self) -> str:
        return self.settings.public_url.rstrip("/")

    # -- knowledge (the embedding model, loaded on first use) ----------------------------------
    def embedder(self) -> Embedder:
        return load_embedder(self.settings.embed_model, str(self.settings.models_dir))

    def kb_versions(self, name: str | None = None) -> VersionStore:
        """Where knowledge base ``name``'s versions live: the database or files (``settings.kb_store``)."""
        s = self.settings
        return _kb_versions(
            name or s.kb,
            str(s.data_dir),
            s.database if s.kb_in_database else None,
            s.kb_poll_seconds,
            s.kb_grace_seconds,
        )

    def knowledge_bases(self) -> list[dict]:
        """Every knowledge base: its name and its current version's manifest (version, kinds, chunks …)."""
        if self.settings.kb_in_database:
            return list_db_kbs(self.engine)
        return list_kbs(self.settings.data_dir)

    def knowledge_base(self, name: str | None = None) -> KnowledgeBase:
        """Knowledge base ``name`` (default ``settings.kb``), one per process and configuration."""
        s = self.settings
        return _knowledge_base(self.kb_versions(name), s.embed_model, str(s.models_dir), s.chroma_url)

    def index_writer(self, name: str | None = None) -> IndexWriter:
        s = self.settings
        return IndexWriter(
            s.data_dir,
            name or s.kb,
            self.embedder(),
            s.chroma_url,
            cache_dir=s.cache_dir,
            versions=self.kb_versions(name),
        )

    def places_file(self, name: str | None = None) -> Path:
        """Where ``zhiyin ingest --places`` keeps knowledge base ``name``'s places."""
        return KbPaths(self.settings.data_dir, name or self.settings.kb).root / "places.json"

    def place_directory(self, name: str | None = None) -> PlaceDirectory:
        """The places of knowledge base ``name``, followed as an ingest replaces them."""
        s = self.settings
        if s.kb_in_database:
            return _db_places(self.engine, name or s.kb, s.kb_poll_seconds)
        return _saved_places(self.places_file(name))

    def install_places(self, places: list[Place], name: str | None = None) -> None:
        """Replace knowledge base ``name``'s places (in the database or its places file, as its versions)."""
        if self.settings.kb_in_database:
            save_db_places(self.engine, name or self.settings.kb, places)
        else:
            save_places(places, self.places_file(name))

    # -- the assistant (needs the model) -----------------------------------------------------
    @property
    def assistant(self) -> Assistant:
        """The assistant over ``settings.kb`` with its places; built on first use, then kept."""
        built = self.__dict__.get("_assistant")
        if built is None:
            with self._assistant_lock:
                built = self.__dict__.get("_assistant") or self.make_assistant()
                self.__dict__["_assistant"] = built
        return built

    def make_assistant(self, name: str | None = None) -> Assistant:
        """A new assistant over knowledge base ``name`` (default ``settings.kb``)."""
        from assistant.engine import Assistant

        s = self.settings
        rewriter = None
        if s.llm_base_url and s.llm_model:
            from assistant.llm import LLMRewriter

            rewriter = LLMRewriter(s.llm_base_url, s.llm_model, s.llm_api_key, s.llm_timeout_seconds)
        name = name or s.kb
        places = self.places if name == s.kb else self.place_directory(name)
        return Assistant(self.knowledge_base(name), places, rewriter=rewriter)

    @property
    def chat(self) -> ChatService:
        """Conversations with the assistant (needs the model: see ``assistant``)."""
        from assistant.chat import ChatService

        chat = self.__dict__.get("_chat")
        if chat is None:  # two first requests may both make one: it holds nothing of its own
            chat = self.__dict__["_chat"] = ChatService(self.assistant, self.sessions, self.asks)
        return chat


@lru_cache(maxsize=16)
def _kb_versions(
    name: str, data_dir: str, database: str | None, poll_seconds: float, grace_seconds: float
) -> VersionStore:
    if database is None:
        return FileVersions(Path(data_dir), name)
    return DbVersions(prepare_database(database), Path(data_dir), name, poll_seconds, grace_seconds)


@lru_cache(maxsize=16)
def _knowledge_base(
    versions: VersionStore, embed_model: str, models_dir: str, chroma_url: str | None
) -> KnowledgeBase:
    embedder = load_embedder(embed_model, models_dir)
    return KnowledgeBase(
        versions.paths.root.parents[1], versions.name, embedder, chroma_url, store=_source_store(versions)
    )


@lru_cache(maxsize=16)
def _source_store(versions: VersionStore) -> SourceStore:
    return SourceStore(versions.paths.root.parents[1], versions.name, versions)


@lru_cache(maxsize=16)
def _db_places(engine: Engine, name: str, poll_seconds: float) -> PlaceDirectory:
    return DbPlaceDirectory(engine, name, poll_seconds)


@lru_cache(maxsize=16)
def _saved_places(path: Path) -> PlaceDirectory:
    return PlaceDirectory.saved(path)
