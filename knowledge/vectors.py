"""Chroma as the vector store: embedded on disk by default, a Chroma server when configured.

We always pass our own vectors; Chroma's default embedding function (which downloads a model)
is never used — collections are created with ``embedding_function=None``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import numpy as np


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def embedded_client(path: Path):
    import chromadb

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=_settings())


def server_client(url: str):
    import chromadb

    parsed = urlparse(url if "://" in url else f"http://{url}")
    return chromadb.HttpClient(
        host=parsed.hostname or "localhost",
        port=parsed.port or (443 if parsed.scheme == "https" else 8000),
        ssl=parsed.scheme == "https",
        settings=_settings(),
    )


# How many neighbours the HNSW graph search explores. e5 similarities crowd into 0.8–0.95, which
# makes the graph hard to navigate: at Chroma's default (100) the 60 nearest chunks of a Guangdong
# question were found 92% of the time and the nearest one was missed for 1 question in 25; at 1000,
# 99.7% and only exact ties differ, for ~1.5 ms more per search (eval/README.md).
HNSW_EF_SEARCH = 1000


class VectorCollection:
    """One Chroma collection holding the chunk vectors of one index version."""

    def __init__(self, client, name: str, create: bool = False):
        self.client = client
        self.name = name
        self._count: int | None = None  # an index version is written once, then only read
        if create:
            self.collection = client.create_collection(
                name,
                configuration={"hnsw": {"space": "cosine", "ef_search": HNSW_EF_SEARCH}},
                embedding_function=None,
                get_or_create=True,
            )
        else:
            self.collection = client.get_collection(name, embedding_function=None)

    def add(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict]) -> None:
        self._count = None
        batch = max(1, min(4000, int(self.client.get_max_batch_size())))
        for start in range(0, len(ids), batch):
            end = start + batch
            self.collection.add(
                ids=ids[start:end], embeddings=vectors[start:end], metadatas=metadatas[start:end]
            )

    def query(self, vector: np.ndarray, k: int, source: str | None = None) -> tuple[list[str], np.ndarray]:
        """The ``k`` nearest chunks (ids, cosine similarities), optionally of one source only."""
        count = self.count()
        if count == 0:
            return [], np.zeros(0, dtype=np.float32)
        result = self.collection.query(
            query_embeddings=vector.reshape(1, -1).astype(np.float32),
            n_results=min(k, count),
            include=["distances"],
            where={"source": source} if source else None,
        )
        ids = result["ids"][0]
        sims = 1.0 - np.asarray(result["distances"][0], dtype=np.float32)
        return ids, sims

    def count(self) -> int:
        if self._count is None:
            self._count = self.collection.count()
        return self._count
