"""Building index versions: incremental, content-hashed, swapped in atomically.

A new version is written beside the current one and only then named current (``knowledge.versions``:
files under the data dir, or a shared database), so a search sees the old index or the new one,
never a half-built one. Each build's vectors go to a Chroma collection of their own, named with a
random build id, so two servers ingesting at once never replace each other's vectors. Vectors come
from a content-hashed cache (``{data_dir}/cache/embeddings.sqlite``), so an unchanged chunk is never
embedded twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knowledge.chunking import CHUNKER_VERSION, chunk_source
from knowledge.embedding import Embedder
from knowledge.lexical import BM25Index, TermSplitter
from knowledge.models import Chunk, Source
from knowledge.text import lexicon_fingerprint, normalise
from knowledge.vectors import VectorCollection, embedded_client, server_client
from knowledge.versions import (
    _KB_NAME,
    FileVersions,
    KbPaths,
    KnowledgeBaseError,
    VersionStore,
    check_kb_name,
    new_build_id,
)

__all__ = ["IndexWriter", "KbPaths", "KnowledgeBaseError", "check_kb_name", "collection_name", "list_kbs"]


def source_hash(source: Source) -> str:
    payload = source.model_dump_json(exclude={"path"})
    return hashlib.sha256(f"{CHUNKER_VERSION}\0{lexicon_fingerprint()}\0{payload}".encode()).hexdigest()


def index_text(chunk: Chunk) -> str:
    """What is embedded and lexically indexed for a chunk."""
    return normalise(chunk.text)


def collection_name(kb: str, version: int, build: str) -> str:
    return f"zhiyin-{kb}-v{version:06d}-{build}"


class EmbeddingCache:
    """Vectors by (model, text hash): re-ingesting never re-embeds an unchanged chunk."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, hash TEXT, vector BLOB, PRIMARY KEY (model, hash))"
        )

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def get_many(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                f"SELECT hash, vector FROM vectors WHERE model=? AND hash IN ({marks})", [model, *part]
            )
            for h, blob in rows:
                found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
            )

    def close(self) -> None:
        self.db.close()


@dataclass
class IngestResult:
    kb: str
    version: int | None
    changed: bool
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0  # chunks that needed the model (not in the cache)
    sources: int = 0


class IndexWriter:
    """Writes new versions of one knowledge base (into ``versions``: default its files under ``data_dir``)."""

    def __init__(
        self,
        data_dir: Path,
        kb: str,
        embedder: Embedder,
        chroma_url: str | None = None,
        cache_dir: Path | None = None,
        versions: VersionStore | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.cache_dir = Path(cache_dir) if cache_dir else self.data_dir / "cache"
        self.versions = versions or FileVersions(self.data_dir, kb)
        self.paths = self.versions.paths
        self.embedder = embedder
        self.chroma_url = chroma_url

    def _current_sources(self, info: dict | None) -> dict[str, tuple[str, Source]]:
        if not info:
            return {}
        hashes = self.versions.manifest(info["version"])["sources"]
        return {sid: (hashes[sid], source) for sid, source in self.versions.sources(info["version"]).items()}

    def ingest(
        self,
        sources: list[Source],
        prune: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> IngestResult:
        """Merge ``sources`` into the knowledge base; ``prune`` removes sources not given."""
        with self.versions.lock():  # one writer per knowledge base at a time
            result = self._ingest(sources, prune, progress)
            if result.version is not None:
                self.versions.cleanup(result.version, self._drop_collection)
            return result

    def _ingest(self, sources: list[Source], prune: bool, progress) -> IngestResult:
        info = self.versions.current()
        old = self._current_sources(info)
        merged: dict[str, tuple[str, Source]] = {}
        result = IngestResult(kb=self.paths.name, version=None, changed=False)
        incoming = {s.id: s for s in sources}
        for sid, (h, src) in old.items():
            if sid not in incoming:
                if prune:
                    result.removed.append(sid)
                else:
                    merged[sid] = (h, src)
        for sid, src in incoming.items():
            h = source_hash(src)
            if sid in old:
                if old[sid][0] == h:
                    result.unchanged += 1
                else:
                    result.updated.append(sid)
            else:
                result.added.append(sid)
            merged[sid] = (h, src)
        result.sources = len(merged)
        if info and not (result.added or result.updated or result.removed):
            result.version = info["version"]
            result.chunks = info.get("chunks", 0)
            return result
        result.changed = True
        result.version = self._build_version(merged, result, progress)
        return result

    def _build_version(
        self,
        merged: dict[str, tuple[str, Source]],
        result: IngestResult,
        progress: Callable[[str, int, int], None] | None,
    ) -> int:
        version = self.versions.next_version()
        self.versions.prepare(version)  # clears what an interrupted ingest left

        ordered = [merged[k][1] for k in sorted(merged)]
        chunks: list[Chunk] = []
        for src in ordered:
            chunks.extend(chunk_source(src))
        texts = [index_text(c) for c in chunks]
        result.chunks = len(chunks)

        vectors = self._vectors(texts, result, progress)

        if progress:
            progress("index", 0, len(chunks))
        user_words = set()
        for src in ordered:
            if src.guide is not None:
                user_words.update(normalise(w) for w in [src.guide.name, *src.guide.aliases])
            else:
                user_words.add(normalise(src.title))
        bm25 = BM25Index.build(texts, TermSplitter("mixed", user_words))

        build = new_build_id()
        name = collection_name(self.paths.name, version, build)
        collection = VectorCollection(self._client(version), name, create=True)
        try:
            collection.add(
                [c.id for c in chunks],
                vectors,
                [{"source": c.source_id, "section": c.section, "kind": c.kind} for c in chunks],
            )
            if progress:
                progress("index", len(chunks), len(chunks))
            self._publish(version, build, name, merged, ordered, chunks, bm25)
        except BaseException:
            # a build that never became a version leaves no collection on the shared Chroma server
            self._drop_collection({"chroma": "server" if self.chroma_url else "embedded", "collection": name})
            raise
        return version

    def _publish(
        self,
        version: int,
        build: str,
        name: str,
        merged: dict[str, tuple[str, Source]],
        ordered: list[Source],
        chunks: list[Chunk],
        bm25: BM25Index,
    ) -> None:
        """Store the version with its manifest and make it the current one."""
        kinds: dict[str, int] = {}
        for src in ordered:
            kinds[src.kind] = kinds.get(src.kind, 0) + 1
        manifest = {
            "version": version,
            "build": build,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "embedder": self.embedder.name,
            "collection": name,
            "chroma": "server" if self.chroma_url else "embedded",
            "sources": {sid: h for sid, (h, _) in merged.items()},
            "kinds": kinds,
            "chunks": len(chunks),
        }
        self.versions.publish(manifest, ordered, chunks, bm25)

    def _vectors(self, texts: list[str], result: IngestResult, progress) -> np.ndarray:
        cache = EmbeddingCache(self.cache_dir / "embeddings.sqlite")
        try:
            keys = [EmbeddingCache.key(t) for t in texts]
            found = cache.get_many(self.embedder.name, list(set(keys)))
            # by length, so each batch pads little
            todo = sorted(
                {k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items(),
                key=lambda item: (len(item[1]), item[0]),
            )
            result.embedded = len(todo)
            batch = 256
            for start in range(0, len(todo), batch):
                if progress:
                    progress("embed", start, len(todo))
                part = todo[start : start + batch]
                vecs = self.embedder.embed_passages([t for _, t in part])
                new = {k: v for (k, _), v in zip(part, vecs, strict=True)}
                cache.put_many(self.embedder.name, new)
                found.update(new)
            if progress and todo:
                progress("embed", len(todo), len(todo))
        finally:
            cache.close()
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def _client(self, version: int):
        if self.chroma_url:
            return server_client(self.chroma_url)
        return embedded_client(self.versions.chroma_dir(version))

    def _drop_collection(self, manifest: dict) -> None:
        """Delete an old version's vectors from the Chroma server (embedded ones go with its folder)."""
        if self.chroma_url and manifest.get("chroma") == "server":
            with contextlib.suppress(Exception):  # already gone, or Chroma away: nothing to undo
                server_client(self.chroma_url).delete_collection(manifest["collection"])


def list_kbs(data_dir: Path) -> list[dict]:
    root = Path(data_dir) / "kb"
    out = []
    if root.exists():
        for folder in sorted(root.iterdir()):
            info = KbPaths(data_dir, folder.name).current() if _KB_NAME.match(folder.name) else None
            if info:
                out.append({"name": folder.name, **info})
    return out
