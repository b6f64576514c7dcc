"""The plain baseline most Chinese RAG systems ship, for comparison only.

jieba BM25 plus dense retrieval with the same embedding model, 0.5/0.5 reciprocal-rank fusion,
over 250-character chunks of each source's whole text; no text normalisation, no sections, no
variant lexicon. Sources are ranked by their best chunk in the fused chunk ranking.
"""

from __future__ import annotations

import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter

from knowledge.chunking import chunk_source
from knowledge.embedding import Embedder
from knowledge.index import EmbeddingCache
from knowledge.lexical import BM25Index, TermSplitter
from knowledge.models import Source

RRF_K = 60


def source_text(source: Source) -> str:
    return "\n".join(chunk.text for chunk in chunk_source(source))


class BaselineRetriever:
    def __init__(self, sources: list[Source], embedder: Embedder, cache: EmbeddingCache | None = None):
        splitter = RecursiveCharacterTextSplitter(chunk_size=250, chunk_overlap=0)
        self.chunk_source: list[str] = []
        texts: list[str] = []
        for source in sources:
            for piece in splitter.split_text(source_text(source)):
                texts.append(piece)
                self.chunk_source.append(source.id)
        self.embedder = embedder
        self.bm25 = BM25Index.build(texts, TermSplitter("jieba"))
        self.vectors = self._embed(texts, cache)

    def _embed(self, texts: list[str], cache: EmbeddingCache | None) -> np.ndarray:
        if cache is None:
            return self.embedder.embed_passages(texts)
        keys = [EmbeddingCache.key("baseline\0" + t) for t in texts]
        found = cache.get_many(self.embedder.name, keys)
        todo = [(k, t) for k, t in zip(keys, texts, strict=True) if k not in found]
        if todo:
            new = dict(
                zip([k for k, _ in todo], self.embedder.embed_passages([t for _, t in todo]), strict=True)
            )
            cache.put_many(self.embedder.name, new)
            found.update(new)
        return np.stack([found[k] for k in keys])

    def search(self, question: str, k: int = 10) -> list[str]:
        dense = self.vectors @ self.embedder.embed_queries([question])[0]
        lexical = self.bm25.scores(question)
        fused = np.zeros(len(dense))
        for scores in (dense, lexical):
            ranks = np.empty(len(scores))
            ranks[np.argsort(-scores)] = np.arange(1, len(scores) + 1)
            fused += 0.5 / (RRF_K + ranks)
        ranked: list[str] = []
        for ci in np.argsort(-fused):
            sid = self.chunk_source[ci]
            if sid not in ranked:
                ranked.append(sid)
                if len(ranked) == k:
                    break
        return ranked
