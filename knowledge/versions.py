"""Where a knowledge base's versions and its current-version pointer live: files under the data dir
(one server: the default), or a shared database (several servers on one PostgreSQL).

Either keeps, per version, a manifest (embedder, Chroma collection, source hashes), the sources,
the chunks and the lexical index; the vectors live in Chroma. A reader asks ``pointer()`` before
every search — a ``stat`` of ``CURRENT``, or the database's pointer row polled at most every few
seconds — and loads a version only when the pointer moves. The writer (``IndexWriter``) holds
``lock()``, ``publish``es a complete version (the single switch), then ``cleanup``s old ones.

Files, under ``{data_dir}/kb/{name}/``::

    CURRENT                 {"version": 7, ...}  — replaced with os.replace, the single switch
    versions/v000007/       sources.jsonl, chunks.jsonl, bm25.*, manifest.json, chroma/ (embedded)

Database: ``kb_versions`` (one row per version, everything but the vectors), ``kb_current`` (the
pointer), ``kb_served`` (which server served which version when: a version is deleted only when
no server has served it for a grace period).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import (
    DateTime,
    Integer,
    LargeBinary,
    String,
    Text,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from halls.sql import Base, insert_or_ignore, utcnow
from knowledge.lexical import BM25Index
from knowledge.models import Chunk, Source

log = logging.getLogger(__name__)

_KB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
KEEP_VERSIONS = 2  # files: the current one and the one before it, for searches still running on it


class KnowledgeBaseError(RuntimeError):
    pass


def check_kb_name(name: str) -> str:
    if not _KB_NAME.match(name):
        raise KnowledgeBaseError(
            f"invalid knowledge base name {name!r}: use lower-case letters, digits, '-' or '_' (max 41 characters)"
        )
    return name


class KbPaths:
    def __init__(self, data_dir: Path, name: str):
        self.name = check_kb_name(name)
        self.root = Path(data_dir) / "kb" / name
        self.versions = self.root / "versions"
        self.current_file = self.root / "CURRENT"

    def version_dir(self, version: int) -> Path:
        return self.versions / f"v{version:06d}"

    def current(self) -> dict | None:
        try:
            return json.loads(self.current_file.read_text())
        except FileNotFoundError:
            return None

    def set_current(self, info: dict) -> None:
        tmp = self.current_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, ensure_ascii=False, indent=1))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.current_file)


class Pointer(NamedTuple):
    """The current version and what tells one publication of it from another."""

    version: int
    token: str


def new_build_id() -> str:
    """Names one build: two servers that both make version 7 make two different collections."""
    return secrets.token_hex(4)


def _jsonl(items: list) -> str:
    return "".join(item.model_dump_json() + "\n" for item in items)


class VersionStore(ABC):
    """A knowledge base's versions and its current pointer (see the module docstring)."""

    name: str
    paths: KbPaths  # local folders: the files of ``FileVersions``; embedded Chroma in either

    # -- reading ------------------------------------------------------------------------------
    @abstractmethod
    def pointer(self) -> Pointer | None:
        """The current version, cheaply (called before every search); None: nothing ingested."""

    @abstractmethod
    def current(self) -> dict | None:
        """The current version's manifest without its source hashes, read fresh (the writer's base)."""

    @abstractmethod
    def manifest(self, version: int) -> dict: ...

    @abstractmethod
    def sources(self, version: int) -> dict[str, Source]:
        """The sources of ``version`` by id, in the order they were indexed."""

    @abstractmethod
    def chunks(self, version: int) -> list[Chunk]: ...

    @abstractmethod
    def bm25(self, version: int) -> BM25Index: ...

    def chroma_dir(self, version: int) -> Path:
        """Where embedded Chroma keeps ``version``'s vectors."""
        return self.paths.version_dir(version) / "chroma"

    def serving(self, version: int) -> None:  # noqa: B027 - files need no heartbeat
        """This process is answering from ``version`` (called on every search; cheap)."""

    # -- writing (``IndexWriter``) ------------------------------------------------------------
    @abstractmethod
    def lock(self) -> contextlib.AbstractContextManager[None]:
        """One writer per knowledge base at a time."""

    @abstractmethod
    def next_version(self) -> int: ...

    def prepare(self, version: int) -> None:
        """Clear what an interrupted build of ``version`` left on this machine."""
        folder = self.paths.version_dir(version)
        if folder.exists():
            shutil.rmtree(folder)

    @abstractmethod
    def publish(self, manifest: dict, sources: list[Source], chunks: list[Chunk], bm25: BM25Index) -> None:
        """Store a complete version, then make it the current one."""

    @abstractmethod
    def cleanup(self, current: int, drop_collection: Callable[[dict], None]) -> None:
        """Delete old versions (``drop_collection(manifest)`` deletes one's vectors)."""


class FileVersions(VersionStore):
    """Files under the data dir: one server (or processes sharing one disk)."""

    def __init__(self, data_dir: Path, name: str):
        self.paths = KbPaths(Path(data_dir), name)
        self.name = name
        self._seen: tuple[tuple[int, int], Pointer] | None = None

    def pointer(self) -> Pointer | None:
        try:
            st = self.paths.current_file.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_mtime_ns, st.st_ino)  # set_current replaces the file: a new inode
        seen = self._seen
        if seen is not None and seen[0] == stamp:
            return seen[1]
        info = self.paths.current()
        if info is None:
            return None
        found = Pointer(info["version"], f"{stamp[0]}-{stamp[1]}")
        self._seen = (stamp, found)
        return found

    def current(self) -> dict | None:
        return self.paths.current()

    def manifest(self, version: int) -> dict:
        return json.loads((self.paths.version_dir(version) / "manifest.json").read_text())

    def sources(self, version: int) -> dict[str, Source]:
        out: dict[str, Source] = {}
        with open(self.paths.version_dir(version) / "sources.jsonl", encoding="utf-8") as f:
            for line in f:
                source = Source.model_validate_json(line)
                out[source.id] = source
        return out

    def chunks(self, version: int) -> list[Chunk]:
        with open(self.paths.version_dir(version) / "chunks.jsonl", encoding="utf-8") as f:
            return [Chunk.model_validate_json(line) for line in f]

    def bm25(self, version: int) -> BM25Index:
        return BM25Index.load(self.paths.version_dir(version))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        with open(self.paths.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def next_version(self) -> int:
        info = self.paths.current()
        return (info["version"] if info else 0) + 1

    def prepare(self, version: int) -> None:
        super().prepare(version)
        self.paths.version_dir(version).mkdir(parents=True)

    def publish(self, manifest: dict, sources: list[Source], chunks: list[Chunk], bm25: BM25Index) -> None:
        folder = self.paths.version_dir(manifest["version"])
        bm25.save(folder)
        (folder / "sources.jsonl").write_text(_jsonl(sources), encoding="utf-8")
        (folder / "chunks.jsonl").write_text(_jsonl(chunks), encoding="utf-8")
        (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
        self.paths.set_current({k: v for k, v in manifest.items() if k != "sources"})

    def cleanup(self, current: int, drop_collection: Callable[[dict], None]) -> None:
        if not self.paths.versions.exists():
            return
        for folder in sorted(self.paths.versions.iterdir()):
            match = re.fullmatch(r"v(\d+)", folder.name)
            if not match or int(match.group(1)) > current - KEEP_VERSIONS:
                continue
            with contextlib.suppress(OSError, ValueError):  # a half-written folder has no manifest
                drop_collection(json.loads((folder / "manifest.json").read_text()))
            shutil.rmtree(folder, ignore_errors=True)


# -- the database ----------------------------------------------------------------------------------
class KbVersion(Base):
    """One complete version of a knowledge base: everything a server needs besides the vectors."""

    __tablename__ = "kb_versions"
    kb: Mapped[str] = mapped_column(String(41), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    build: Mapped[str] = mapped_column(String(16))
    created: Mapped[dt.datetime] = mapped_column(DateTime)
    manifest: Mapped[str] = mapped_column(Text)  # JSON
    sources: Mapped[str] = mapped_column(Text)  # JSON lines
    chunks: Mapped[str] = mapped_column(Text)  # JSON lines
    bm25_meta: Mapped[str] = mapped_column(Text)  # JSON: vocabulary, user words, k1, b
    bm25_matrix: Mapped[bytes] = mapped_column(LargeBinary)  # .npz


class KbCurrent(Base):
    """The pointer: which version of a knowledge base every server answers from."""

    __tablename__ = "kb_current"
    kb: Mapped[str] = mapped_column(String(41), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    build: Mapped[str] = mapped_column(String(16))
    changed: Mapped[dt.datetime] = mapped_column(DateTime)


class KbServed(Base):
    """When a server last answered from a version (a heartbeat, written at most every minute)."""

    __tablename__ = "kb_served"
    kb: Mapped[str] = mapped_column(String(41), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    server: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen: Mapped[dt.datetime] = mapped_column(DateTime)


def this_server() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class DbVersions(VersionStore):
    """A shared database: every server follows the pointer, whichever server ingested."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        name: str,
        poll_seconds: float = 2.0,
        grace_seconds: float = 600.0,
        server: str | None = None,
    ):
        self.engine = engine
        self.paths = KbPaths(Path(data_dir), name)  # only for embedded Chroma (one server)
        self.name = name
        self.poll_seconds = poll_seconds
        self.grace_seconds = grace_seconds
        # a heartbeat several times per grace period, so a served version is never "idle" by accident
        self.heartbeat_seconds = min(60.0, grace_seconds / 4)
        self.server = server or this_server()
        self._poll_lock = threading.Lock()
        self._pointer: Pointer | None = None
        self._polled: float | None = None
        self._beat: tuple[int, float] | None = None

    # -- reading ------------------------------------------------------------------------------
    def pointer(self) -> Pointer | None:
        polled = self._polled
        if polled is not None and time.monotonic() - polled < self.poll_seconds:
            return self._pointer
        with self._poll_lock:
            if self._polled is not None and time.monotonic() - self._polled < self.poll_seconds:
                return self._pointer
            try:
                with self.engine.connect() as conn:
                    row = conn.execute(
                        select(KbCurrent.version, KbCurrent.build).where(KbCurrent.kb == self.name)
                    ).first()
                self._pointer = Pointer(row.version, row.build) if row else None
            except SQLAlchemyError as exc:
                if self._pointer is None:
                    raise KnowledgeBaseError(
                        f"knowledge base '{self.name}': the database is not reachable ({exc.__class__.__name__})"
                    ) from exc
                # the database is briefly away: keep answering from the version we have
                log.warning(
                    "knowledge base %s: pointer not read, keeping version %s: %s",
                    self.name,
                    self._pointer.version,
                    exc,
                )
            self._polled = time.monotonic()
            return self._pointer

    def current(self) -> dict | None:
        with self.engine.connect() as conn:
            version = conn.execute(select(KbCurrent.version).where(KbCurrent.kb == self.name)).scalar()
        if version is None:
            return None
        return {k: v for k, v in self.manifest(version).items() if k != "sources"}

    def _column(self, column, version: int):
        with self.engine.connect() as conn:
            value = conn.execute(
                select(column).where(KbVersion.kb == self.name, KbVersion.version == version)
            ).scalar()
        if value is None:
            raise KnowledgeBaseError(
                f"version {version} of knowledge base '{self.name}' is not in the database"
            )
        return value

    def manifest(self, version: int) -> dict:
        return json.loads(self._column(KbVersion.manifest, version))

    def sources(self, version: int) -> dict[str, Source]:
        out: dict[str, Source] = {}
        for line in self._column(KbVersion.sources, version).splitlines():
            source = Source.model_validate_json(line)
            out[source.id] = source
        return out

    def chunks(self, version: int) -> list[Chunk]:
        return [
            Chunk.model_validate_json(line) for line in self._column(KbVersion.chunks, version).splitlines()
        ]

    def bm25(self, version: int) -> BM25Index:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(KbVersion.bm25_matrix, KbVersion.bm25_meta).where(
                    KbVersion.kb == self.name, KbVersion.version == version
                )
            ).first()
        if row is None:
            raise KnowledgeBaseError(
                f"version {version} of knowledge base '{self.name}' is not in the database"
            )
        return BM25Index.restore(row.bm25_matrix, row.bm25_meta)

    def serving(self, version: int) -> None:
        beat = self._beat
        now = time.monotonic()
        if beat is not None and beat[0] == version and now - beat[1] < self.heartbeat_seconds:
            return
        self._beat = (version, now)  # first: a failing database is tried once per interval, not per search
        key = {"kb": self.name, "version": version, "server": self.server}
        table = KbServed.__table__
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    update(table).where(*(table.c[k] == v for k, v in key.items())).values(seen=utcnow())
                )
                if done.rowcount == 0:
                    insert_or_ignore(conn, table, {**key, "seen": utcnow()})
        except SQLAlchemyError as exc:
            log.warning("knowledge base %s: heartbeat not written: %s", self.name, exc)

    # -- writing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        if self.engine.dialect.name != "postgresql":  # SQLite: one machine, a file lock does
            with FileVersions(self.paths.root.parents[1], self.name).lock():
                yield
            return
        key = int.from_bytes(
            hashlib.sha256(f"zhiyin-kb:{self.name}".encode()).digest()[:8], "big", signed=True
        )
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()

    def next_version(self) -> int:
        with self.engine.connect() as conn:
            newest = conn.execute(
                select(func.max(KbVersion.version)).where(KbVersion.kb == self.name)
            ).scalar()
            current = conn.execute(select(KbCurrent.version).where(KbCurrent.kb == self.name)).scalar()
        return max(newest or 0, current or 0) + 1

    def publish(self, manifest: dict, sources: list[Source], chunks: list[Chunk], bm25: BM25Index) -> None:
        matrix, meta = bm25.dump()
        now = utcnow()
        version, build = manifest["version"], manifest["build"]
        with self.engine.begin() as conn:  # the row and the pointer in one transaction
            conn.execute(
                insert(KbVersion.__table__).values(
                    kb=self.name,
                    version=version,
                    build=build,
                    created=now,
                    manifest=json.dumps(manifest, ensure_ascii=False),
                    sources=_jsonl(sources),
                    chunks=_jsonl(chunks),
                    bm25_meta=meta,
                    bm25_matrix=matrix,
                )
            )
            pointer = {"version": version, "build": build, "changed": now}
            moved = conn.execute(
                update(KbCurrent.__table__).where(KbCurrent.kb == self.name).values(**pointer)
            )
            if moved.rowcount == 0:
                conn.execute(insert(KbCurrent.__table__).values(kb=self.name, **pointer))
        self._polled = None  # this process sees its own ingest at once

    def cleanup(self, current: int, drop_collection: Callable[[dict], None]) -> None:
        """Delete each version other than ``current`` that no server has served for the grace period
        (nor was made within it)."""
        cutoff = utcnow() - dt.timedelta(seconds=self.grace_seconds)
        with self.engine.connect() as conn:
            made = dict(
                conn.execute(
                    select(KbVersion.version, KbVersion.created).where(
                        KbVersion.kb == self.name, KbVersion.version != current
                    )
                ).all()
            )
            served = dict(
                conn.execute(
                    select(KbServed.version, func.max(KbServed.seen))
                    .where(KbServed.kb == self.name)
                    .group_by(KbServed.version)
                ).all()
            )
        for version, created in sorted(made.items()):
            last_used = max(created, served.get(version) or created)
            if last_used >= cutoff:
                continue
            with contextlib.suppress(KnowledgeBaseError):
                drop_collection(self.manifest(version))
            with self.engine.begin() as conn:
                conn.execute(delete(KbServed).where(KbServed.kb == self.name, KbServed.version == version))
                conn.execute(delete(KbVersion).where(KbVersion.kb == self.name, KbVersion.version == version))
            shutil.rmtree(self.paths.version_dir(version), ignore_errors=True)
        with self.engine.begin() as conn:  # heartbeats of versions already gone
            conn.execute(
                delete(KbServed).where(
                    KbServed.kb == self.name,
                    KbServed.version.not_in(select(KbVersion.version).where(KbVersion.kb == self.name)),
                )
            )


def list_db_kbs(engine: Engine) -> list[dict]:
    """Every knowledge base in the database: its name and its current version's manifest (as
    ``knowledge.index.list_kbs`` lists those in a data dir)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(KbCurrent.kb, KbVersion.manifest)
            .join(KbVersion, (KbVersion.kb == KbCurrent.kb) & (KbVersion.version == KbCurrent.version))
            .order_by(KbCurrent.kb)
        ).all()
    return [
        {"name": kb, **{k: v for k, v in json.loads(manifest).items() if k != "sources"}}
        for kb, manifest in rows
    ]
