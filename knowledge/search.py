"""Hybrid search over one knowledge base: dense (Chroma) and lexical (BM25), fused per source.

A ``KnowledgeBase`` opens the current version and, before each search, checks whether an ingest has
swapped in a newer one (``knowledge.versions``: a ``stat`` of ``CURRENT``, or a shared database's
pointer polled every few seconds); a search always runs on one complete version.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.embedding import Embedder
from knowledge.lexical import BM25Index
from knowledge.models import Chunk, Hit, Source
from knowledge.sources import SourceStore
from knowledge.spelling import Respeller
from knowledge.text import default_lexicon, normalise
from knowledge.vectors import VectorCollection, embedded_client, server_client
from knowledge.versions import KbPaths, KnowledgeBaseError, Pointer

# Question vectors kept per knowledge base: a turn asks for the same one more than once, and the
# search benchmark's repeated rounds measure the cache (repeated p50 2.2 ms against 10.8 ms for a first
# search, eval/README.md session 5); the size itself was set by hand.
QUERY_VECTOR_CACHE = 512
# Respelled questions kept (a turn respells its question, then searches with the result: 0.47 ms →
# 0.006 ms per turn, commit 1204fa8); the size was set by hand.
RESPELL_CACHE = 1024
# Chunks of one source compared for its best passage; set by hand, not measured separately.
PASSAGE_CANDIDATES = 8


@dataclass(frozen=True)
class Fusion:
    """How dense and lexical evidence are combined (see eval/README.md for the measurements).

    Each retriever's per-source scores are standardised (z-scores over its own top candidates),
    so neither scale dominates, then mixed. The lexical weight is scaled by the share of the
    question's terms that the index knows: an English question against Chinese guides matches
    almost nothing lexically, and its stray matches must not outvote the dense side.
    """

    dense_weight: float = 0.6
    candidates: int = 60  # chunks taken from each retriever before fusing per source
    mode: str = "hybrid"  # hybrid | dense | lexical


@dataclass
class _Version:
    version: int
    sources: dict[str, Source]
    chunks: list[Chunk]
    chunk_pos: dict[str, int]
    chunk_source: np.ndarray  # chunk index -> source index
    source_ids: list[str]
    bm25: BM25Index
    collection: VectorCollection
    respeller: Respeller | None = None  # made on the first question (knowledge.spelling)


class KnowledgeBase:
    def __init__(
        self,
        data_dir: Path,
        name: str,
        embedder: Embedder,
        chroma_url: str | None = None,
        fusion: Fusion | None = None,
        store: SourceStore | None = None,
    ):
        self.paths = KbPaths(Path(data_dir), name)
        # the sources, shared with the pages; its ``versions`` say where this knowledge base lives
        self.store = store or SourceStore(Path(data_dir), name)
        self.versions = self.store.versions
        self.name = name
        self.embedder = embedder
        self.chroma_url = chroma_url
        self.fusion = fusion or Fusion()
        self._lock = threading.Lock()
        self._v: _Version | None = None
        self._vectors: dict[str, np.ndarray] = {}
        self._respelled: dict[str, str] = {}  # question → respelled question (see ``respell``)
        self._pointer: Pointer | None = None

    # -- loading ---------------------------------------------------------------------------
    def _current(self) -> _Version:
        pointer = self.store.pointer()
        if pointer is None:
            raise KnowledgeBaseError(
                f"knowledge base '{self.name}' is empty: run `zhiyin ingest PATH --kb {self.name}` "
                f"(or `zhiyin ingest --demo --kb {self.name}`) first"
            )
        v = self._v
        if v is None or pointer != self._pointer:
            with self._lock:
                if self._v is None or pointer != self._pointer:
                    self._v = self._load(pointer.version)
                    self._pointer = pointer
                v = self._v
        self.versions.serving(v.version)  # a heartbeat at most every minute: see knowledge.versions
        return v

    def _load(self, version: int) -> _Version:
        manifest = self.versions.manifest(version)
        if manifest.get("embedder") != self.embedder.name:
            raise KnowledgeBaseError(
                f"knowledge base '{self.name}' was indexed with embedding model {manifest.get('embedder')}, "
                f"but {self.embedder.name} is configured: re-ingest it with the current model"
            )
        sources = self.store.read(version)
        chunks = self.versions.chunks(version)
        source_ids = list(sources)
        source_pos = {sid: i for i, sid in enumerate(source_ids)}
        if self.chroma_url:
            client = server_client(self.chroma_url)
        else:
            client = embedded_client(self.versions.chroma_dir(version))
        try:
            collection = VectorCollection(client, manifest["collection"])
        except Exception as exc:  # chromadb's NotFoundError, ValueError by version
            raise KnowledgeBaseError(
                f"the vectors of knowledge base '{self.name}' version {version} (Chroma collection "
                f"{manifest['collection']}) are not there: several servers need ZHIYIN_CHROMA_URL ({exc})"
            ) from exc
        return _Version(
            version=version,
            sources=sources,
            chunks=chunks,
            chunk_pos={c.id: i for i, c in enumerate(chunks)},
            chunk_source=np.array([source_pos[c.source_id] for c in chunks], dtype=np.int64),
            source_ids=source_ids,
            bm25=self.versions.bm25(version),
            collection=collection,
        )

    # -- reading ---------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return self._current().version

    def sources(self) -> dict[str, Source]:
        return self._current().sources

    def get(self, source_id: str) -> Source | None:
        return self._current().sources.get(source_id)

    def stats(self) -> dict:
        v = self._current()
        kinds: dict[str, int] = {}
        for s in v.sources.values():
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
        sections: dict[str, int] = {}
        for c in v.chunks:
            sections[c.section] = sections.get(c.section, 0) + 1
        return {
            "name": self.name,
            "version": v.version,
            "sources": len(v.sources),
            "kinds": kinds,
            "chunks": len(v.chunks),
            "sections": sections,
            "embedder": self.embedder.name,
        }

    def chunks_of(self, source_id: str) -> list[Chunk]:
        """The indexed passages of one source, in order (the guide text an LLM may use)."""
        return [c for c in self._current().chunks if c.source_id == source_id]

    def _query_vector(self, text: str) -> np.ndarray:
        """The question's embedding; a turn asks for the same one more than once."""
        vector = self._vectors.get(text)
        if vector is None:
            vector = self.embedder.embed_queries([text])[0]
            if len(self._vectors) >= QUERY_VECTOR_CACHE:
                self._vectors.pop(next(iter(self._vectors)))
            self._vectors[text] = vector
        return vector

    def best_passage(self, query: str, source_id: str, skip: tuple[str, ...] = ("overview",)) -> Hit | None:
        """The chunk of one source that best answers ``query`` (sections in ``skip`` left out)."""
        v = self._current()
        source = v.sources.get(source_id)
        if source is None:
            return None
        ids, sims = v.collection.query(
            self._query_vector(normalise(query)), PASSAGE_CANDIDATES, source=source_id
        )
        best = next(
            (
                (cid, sim)
                for cid, sim in zip(ids, sims, strict=True)
                if cid in v.chunk_pos and v.chunks[v.chunk_pos[cid]].section not in skip
            ),
            None,
        )
        if best is None:
            return None
        cid, similarity = best
        chunk = v.chunks[v.chunk_pos[cid]]
        return Hit(
            id=source.id,
            title=source.title,
            kind=source.kind,
            section=chunk.section,
            score=float(similarity),
            dense=float(similarity),
            text=chunk.text,
        )

    def respell(self, text: str) -> str:
        """The text normalised, with homophone typos of the knowledge base's words respelled
        (居住正 → 居住证; see ``knowledge.spelling``)."""
        v = self._current()
        if v.respeller is None:
            with self._lock:
                if v.respeller is None:
                    v.respeller = self._make_respeller(v)
                    self._respelled = {}  # of the previous version's vocabulary
        done = self._respelled.get(text)
        if done is not None:  # a turn respells its question, then searches with the result
            return done
        folded = normalise(text)
        respelled = v.respeller.respell(folded)
        # a respelled variant is mapped like any other (低宝 → 低保 → 最低生活保障)
        done = folded if respelled == folded else normalise(respelled)
        if len(self._respelled) >= RESPELL_CACHE:
            self._respelled.clear()
        self._respelled[text] = self._respelled[done] = done
        return done

    @staticmethod
    def _make_respeller(v: _Version) -> Respeller:
        splitter = v.bm25.splitter
        weight: dict[str, int] = {}
        for source in v.sources.values():
            if source.kind == "guide":
                for word in set(splitter.subwords(normalise(source.title))):
                    weight[word] = weight.get(word, 0) + 1
        for word in default_lexicon().canonical:
            weight.setdefault(word, 1)
        return Respeller(
            weight.items(), splitter.words, lambda run: v.bm25.attests(run) or splitter.in_dictionary(run)
        )

    def words(self, text: str) -> list[str]:
        """The text's words as the index splits them (jieba's precise mode, with the guides' names and
        aliases in its dictionary); normalised first."""
        return self._current().bm25.splitter.words(normalise(text))

    def subwords(self, text: str) -> list[str]:
        """Every dictionary word inside the text (jieba's search mode, with the guides' names and
        aliases in its dictionary: 居民身份证补领 gives 居民, 身份证, 居民身份证, 补领 …); normalised first."""
        return self._current().bm25.splitter.subwords(normalise(text))

    def known_share(self, text: str) -> float:
        """Share of the text's content words that the index knows (see ``BM25Index.known_share``)."""
        return self._current().bm25.known_share(normalise(text))

    # -- searching -------------------------------------------------------------------------
    def search(self, query: str, k: int = 5) -> list[Hit]:
        v = self._current()
        text = self.respell(query)
        if not text or not v.chunks:
            return []
        f = self.fusion
        n_sources = len(v.source_ids)
        dense = np.zeros(n_sources, dtype=np.float32)
        dense_chunk = np.full(n_sources, -1, dtype=np.int64)
        lexical = np.zeros(n_sources, dtype=np.float32)
        lexical_chunk = np.full(n_sources, -1, dtype=np.int64)

        if f.mode in ("hybrid", "dense"):
            qv = self._query_vector(text)
            ids, sims = v.collection.query(qv, f.candidates)
            for cid, sim in zip(ids, sims, strict=True):
                ci = v.chunk_pos.get(cid)
                if ci is None:
                    continue
                si = v.chunk_source[ci]
                if sim > dense[si]:
                    dense[si] = sim
                    dense_chunk[si] = ci
        if f.mode in ("hybrid", "lexical"):
            scores = v.bm25.scores(text)
            top = np.argpartition(-scores, min(f.candidates, len(scores) - 1))[: f.candidates]
            for ci in top:
                s = scores[ci]
                if s <= 0:
                    continue
                si = v.chunk_source[ci]
                if s > lexical[si]:
                    lexical[si] = s
                    lexical_chunk[si] = ci

        dense_part, lexical_part = self._fuse(dense, lexical, v.bm25.coverage(text))
        fused = dense_part + lexical_part
        order = np.argsort(-fused)[:k]
        hits = []
        for si in order:
            if dense[si] <= 0 and lexical[si] <= 0:
                break
            # the matched section is the one from the retriever that contributed more
            use_lexical = lexical_chunk[si] >= 0 and (
                dense_chunk[si] < 0 or lexical_part[si] > dense_part[si]
            )
            chunk = v.chunks[lexical_chunk[si] if use_lexical else dense_chunk[si]]
            source = v.sources[v.source_ids[si]]
            hits.append(
                Hit(
                    id=source.id,
                    title=source.title,
                    kind=source.kind,
                    section=chunk.section,
                    score=round(float(fused[si]), 4),
                    dense=round(float(dense[si]), 4),
                    lexical=round(float(lexical[si]), 4),
                    text=chunk.text,
                )
            )
        return hits

    def _fuse(self, dense: np.ndarray, lexical: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
        """The dense and lexical contributions to each source's score."""
        f = self.fusion
        zeros = np.zeros_like(dense)
        if f.mode == "dense":
            return dense, zeros
        if f.mode == "lexical":
            return zeros, lexical
        return (
            f.dense_weight * _standardise(dense, f.candidates),
            (1 - f.dense_weight) * coverage * _standardise(lexical, f.candidates),
        )


def _standardise(scores: np.ndarray, top: int) -> np.ndarray:
    """z-scores relative to the best ``top`` candidates (the rest of the list is noise)."""
    best = scores[np.argpartition(-scores, min(top, len(scores) - 1))[:top]]
    best = best[best > 0]
    if len(best) < 2:
        return np.where(scores > 0, 1.0, 0.0).astype(np.float32)
    return ((scores - best.mean()) / (best.std() + 1e-6)).astype(np.float32)
