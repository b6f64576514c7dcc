"""What an operator does to a running city, once, for the CLI and the web alike: ingest a knowledge
base with its places, revoke and re-issue a plate, add and revoke a clerk, purge old visits.

    from zhiyin.usecases import ingest, revoke_plate
    outcome = ingest(services, [Path("guides/")], places=Path("places.yaml"))
    revoked, new_code = revoke_plate(services, "yc-taoxi", reissue=True)

Each takes the services root and returns what happened; it prints nothing. Errors are raised as
the wings raise them (``EmbeddingModelError``, ``KnowledgeBaseError``, ``PlacesError``, ``ValueError``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from doorplate.retention import cutoff
from doorplate.retention import purge as purge_before
from halls.places import load_places
from knowledge import EmbeddingModelError, KnowledgeBaseError, LoadReport, demo_dir, load_sources
from knowledge.index import IngestResult
from knowledge.vectors import server_client
from zhiyin.db import PG_PURGE_LOCK, advisory_lock
from zhiyin.services import Services

log = logging.getLogger("zhiyin")


@dataclass(frozen=True)
class IngestOutcome:
    report: LoadReport  # what was read: sources per kind, skipped files, warnings, errors
    result: IngestResult  # what the index became: version, added, updated, removed, chunks
    places: int | None  # places installed with it (None: none given)


def ingest(
    services: Services,
    paths: list[Path],
    kb: str | None = None,
    prune: bool = False,
    places: Path | None = None,
    demo: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> IngestOutcome:
    """Read every file under ``paths`` into knowledge base ``kb`` (``--prune``: drop sources not
    given), then install ``places`` for it; ``demo`` adds the bundled demo KB and its places. The
    good files are indexed even when others are skipped (``outcome.report.ok`` says so). A places
    file that does not load leaves the installed places as they were."""
    inputs = list(paths)
    if demo:
        inputs.append(demo_dir() / "kb")
        places = places or demo_dir() / "places.yaml"
    if not inputs:
        raise ValueError("give at least one PATH, or --demo")
    report = load_sources(inputs, progress=on_file)
    result = services.index_writer(kb).ingest(report.sources, prune=prune, progress=progress)
    installed = None
    if places:
        loaded = load_places(places)
        services.install_places(loaded, kb)
        installed = len(loaded)
    return IngestOutcome(report, result, installed)


def revoke_plate(services: Services, place_id: str, reissue: bool = False) -> tuple[list[str], str | None]:
    """Revoke the place's active plate (a printed sticker then shows the fraud warning); with
    ``reissue``, issue a new code at once. (the codes revoked, the new code or None)."""
    registry = services.plates
    revoked = registry.revoke(place_id)
    return revoked, registry.issue(place_id) if reissue else None


def add_clerk(services: Services, name: str, place_id: str | None = None, window: str | None = None) -> str:
    """A new token for clerk ``name``, bound to a hall and a window if given. Returned once: only
    its hash is kept."""
    return services.staff.add(name, place_id, window)


def revoke_clerk(services: Services, name: str) -> bool:
    """Revoke clerk ``name``'s token; False when there was none."""
    return services.staff.revoke(name)


def purge_visits(
    services: Services, days: int | None = None, now: dt.datetime | None = None, wait: bool = True
) -> tuple[dt.date, dict[str, int]]:
    """Delete the bookings, queue tickets and their counters of days more than ``days`` (default
    ``ZHIYIN_BOOKING_RETENTION_DAYS``) past: (the first day kept, rows deleted per table). One server
    at a time (an advisory lock on PostgreSQL); without ``wait``, nothing is done (``{}``) while
    another server purges: the running servers' timers, which would otherwise all purge at once."""
    before = cutoff(days or services.settings.booking_retention_days, now)
    with advisory_lock(services.engine, PG_PURGE_LOCK, wait=wait) as mine:
        return before, purge_before(services.engine, before) if mine else {}


@dataclass(frozen=True)
class Readiness:
    """Each part a server needs to answer, with what was found: "ok", or why not."""

    parts: dict[str, str] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.failing

    def passed(self, part: str, found: str = "ok") -> None:
        self.parts[part] = found

    def failed(self, part: str, why: str = "unavailable") -> None:
        """(The details are logged, not told to whoever asks: they may name hosts.)"""
        self.parts[part] = why
        self.failing.append(part)


def readiness(services: Services) -> Readiness:
    """Whether this server can answer now: the database (SELECT 1), the Chroma server when one is
    configured (its heartbeat), and the assistant with its knowledge base at a current version. A
    load balancer sends no citizen to a server that is up (``/healthz``) but cannot answer."""
    result = Readiness()
    try:
        with services.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        result.passed("database")
    except SQLAlchemyError:
        log.warning("not ready: the database does not answer", exc_info=True)
        result.failed("database")
    chroma_url = services.settings.chroma_url
    if chroma_url:
        try:
            server_client(chroma_url).heartbeat()
            result.passed("chroma")
        except Exception:  # chromadb raises its own errors, httpx's and ValueError alike
            log.warning("not ready: the Chroma server does not answer", exc_info=True)
            result.failed("chroma")
    else:
        result.passed("chroma", "embedded")
    try:
        result.passed("index", f"version {services.assistant.kb.version}")
    except (KnowledgeBaseError, EmbeddingModelError) as exc:  # the same message /api/chat answers
        result.failed("index", str(exc))
    except Exception:  # e.g. the vectors of the current version cannot be reached
        log.warning("not ready: the knowledge base does not load", exc_info=True)
        result.failed("index")
    return result
