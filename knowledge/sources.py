"""The sources (guides, documents, FAQ rows) of a knowledge base's current version, read without the
embedding model or the vector index: what the doorplate's pages and bookings need of the guides.

    store = SourceStore(data_dir, "default")
    store.get("990100-GA-0001")   # a Source, or None (also when nothing is ingested yet)

It follows the current pointer (``knowledge.versions``: files, or a shared database polled every few
seconds) as ``KnowledgeBase`` does: after an ingest swaps in a new version, a later call reads it.
``KnowledgeBase`` takes its sources from the same store, so a process holds one copy.
"""

from __future__ import annotations

import threading
from pathlib import Path

from knowledge.models import Source
from knowledge.versions import FileVersions, Pointer, VersionStore


class SourceStore:
    def __init__(self, data_dir: Path, name: str, versions: VersionStore | None = None):
        self.versions = versions or FileVersions(Path(data_dir), name)
        self.paths = self.versions.paths
        self.name = name
        self._lock = threading.Lock()
        self._loaded: tuple[int, dict[str, Source]] | None = None

    def pointer(self) -> Pointer | None:
        """The current version (None: nothing ingested yet); cheap."""
        return self.versions.pointer()

    def read(self, version: int) -> dict[str, Source]:
        """The sources of ``version``, by id, in the order they were indexed (read once per version)."""
        loaded = self._loaded
        if loaded is not None and loaded[0] == version:
            return loaded[1]
        with self._lock:
            if self._loaded is None or self._loaded[0] != version:
                self._loaded = (version, self.versions.sources(version))
            return self._loaded[1]

    @property
    def version(self) -> int | None:
        """The current version, or None when nothing is ingested yet."""
        pointer = self.pointer()
        return pointer.version if pointer else None

    def sources(self) -> dict[str, Source]:
        """The current version's sources ({} when nothing is ingested yet)."""
        version = self.version
        return {} if version is None else self.read(version)

    def get(self, source_id: str) -> Source | None:
        return self.sources().get(source_id)
