"""Building index versions: incremental, content-hashed, swapped in atomically.

Layout under ``{data_dir}/kb/{name}/``::

    CURRENT                 {"version": 7, ...}  — replaced with os.replace, the single switch
    versions/v000007/       sources.jsonl, chunks.jsonl, bm25.*, manifest.json, chroma/ (embedded)

A new version is written beside the current one and only then named in ``CURRENT``, so a search
sees the old index or the new one, never a half-built one. Vectors come from a content-hashed
cache (``{data_dir}/cache/embeddings.sqlite``), so an unchanged chunk is never embedded twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
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

_KB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
KEEP_VERSIONS = 2  # the current one and the one before it, for searches still running on it


class KnowledgeBaseError(RuntimeError):
    pass


def check_kb_name(name: str) -> str:
    if not _KB_NAME.match(name):
        raise KnowledgeBaseError(
            f"invalid knowledge base name {name!r}: use lower-case letters, digits, '-' or '_' (max 41 characters)"
        )
    return name


def source_hash(source: Source) -> str:
    payload = source.model_dump_json(exclude={"path"})
    return hashlib.sha256(f"{CHUNKER_VERSION}\0{lexicon_fingerprint()}\0{payload}".encode()).hexdigest()


def index_text(chunk: Chunk) -> str:
    """What is embedded and lexically indexed for a chunk."""
    return normalise(chunk.text)


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


def collection_name(kb: str, version: int) -> str:
    return f"zhiyin-{kb}-v{version:06d}"


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
    """Writes new versions of one knowledge base."""

    def __init__(
        self,
        data_dir: Path,
        kb: str,
        embedder: Embedder,
        chroma_url: str | None = None,
        cache_dir: Path | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.cache_dir = Path(cache_dir) if cache_dir else self.data_dir / "cache"
        self.paths = KbPaths(self.data_dir, kb)
        self.embedder = embedder
        self.chroma_url = chroma_url

    def _current_sources(self) -> dict[str, tuple[str, Source]]:
        info = self.paths.current()
        if not info:
            return {}
        folder = self.paths.version_dir(info["version"])
        manifest = json.loads((folder / "manifest.json").read_text())
        hashes = manifest["sources"]
        out = {}
        with open(folder / "sources.jsonl", encoding="utf-8") as f:
            for line in f:
                source = Source.model_validate_json(line)
                out[source.id] = (hashes[source.id], source)
        return out

    def ingest(
        self,
        sources: list[Source],
        prune: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> IngestResult:
        """Merge ``sources`` into the knowledge base; ``prune`` removes sources not given."""
        self.paths.root.mkdir(parents=True, exist_ok=True)
        with open(self.paths.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one writer per knowledge base at a time
            return self._ingest(sources, prune, progress)

    def _ingest(self, sources: list[Source], prune: bool, progress) -> IngestResult:
        old = self._current_sources()
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
        info = self.paths.current()
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
        info = self.paths.current()
        version = (info["version"] if info else 0) + 1
        folder = self.paths.version_dir(version)
        if folder.exists():  # left over from an interrupted ingest
            shutil.rmtree(folder)
        folder.mkdir(parents=True)

        ordered = [merged[k] for k in sorted(merged)]
        chunks: list[Chunk] = []
        for _, src in ordered:
            chunks.extend(chunk_source(src))
        texts = [index_text(c) for c in chunks]
        result.chunks = len(chunks)

        vectors = self._vectors(texts, result, progress)

        if progress:
            progress("index", 0, len(chunks))
        user_words = set()
        for _, src in ordered:
            if src.guide is not None:
                user_words.update(normalise(w) for w in [src.guide.name, *src.guide.aliases])
            else:
                user_words.add(normalise(src.title))
        bm25 = BM25Index.build(texts, TermSplitter("mixed", user_words))
        bm25.save(folder)

        client = self._client(folder)
        name = collection_name(self.paths.name, version)
        with contextlib.suppress(Exception):  # a leftover of an interrupted ingest; usually absent
            client.delete_collection(name)
        collection = VectorCollection(client, name, create=True)
        collection.add(
            [c.id for c in chunks],
            vectors,
            [{"source": c.source_id, "section": c.section, "kind": c.kind} for c in chunks],
        )
        if progress:
            progress("index", len(chunks), len(chunks))

        with open(folder / "sources.jsonl", "w", encoding="utf-8") as f:
            for _, src in ordered:
                f.write(src.model_dump_json() + "\n")
        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(c.model_dump_json() + "\n")
        kinds: dict[str, int] = {}
        for _, src in ordered:
            kinds[src.kind] = kinds.get(src.kind, 0) + 1
        manifest = {
            "version": version,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "embedder": self.embedder.name,
            "collection": name,
            "chroma": "server" if self.chroma_url else "embedded",
            "sources": {sid: h for sid, (h, _) in merged.items()},
            "kinds": kinds,
            "chunks": len(chunks),
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
        self.paths.set_current({k: v for k, v in manifest.items() if k != "sources"})
        self._drop_old_versions(version)
        return version

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

    def _client(self, folder: Path):
        return server_client(self.chroma_url) if self.chroma_url else embedded_client(folder / "chroma")

    def _drop_old_versions(self, current: int) -> None:
        if not self.paths.versions.exists():
            return
        for folder in sorted(self.paths.versions.iterdir()):
            match = re.fullmatch(r"v(\d+)", folder.name)
            if not match or int(match.group(1)) > current - KEEP_VERSIONS:
                continue
            version = int(match.group(1))
            if self.chroma_url:
                with contextlib.suppress(Exception):
                    server_client(self.chroma_url).delete_collection(
                        collection_name(self.paths.name, version)
                    )
            shutil.rmtree(folder, ignore_errors=True)


def list_kbs(data_dir: Path) -> list[dict]:
    root = Path(data_dir) / "kb"
    out = []
    if root.exists():
        for folder in sorted(root.iterdir()):
            info = KbPaths(data_dir, folder.name).current() if _KB_NAME.match(folder.name) else None
            if info:
                out.append({"name": folder.name, **info})
    return out
