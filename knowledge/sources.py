"""The sources (guides, documents, FAQ rows) of a knowledge base's current version, read without the
embedding model or the vector index: what the doorplate's pages and bookings need of the guides.

    store = SourceStore(data_dir, "default")
    store.get("990100-GA-0001")   # a Source, or None (also when nothing is ingested yet)

It follows ``CURRENT`` as ``KnowledgeBase`` does: after an ingest swaps in a new version, the next
call reads it. ``KnowledgeBase`` takes its sources from the same store, so a process holds one copy.
"""

from __future__ import annotations

import threading
from pathlib import Path

from knowledge.index import KbPaths
from knowledge.models import Source

Stamp = tuple[float, int]


class SourceStore:
    def __init__(self, data_dir: Path, name: str):
        self.paths = KbPaths(Path(data_dir), name)
        self.name = name
        self._lock = threading.Lock()
        self._loaded: tuple[int, dict[str, Source]] | None = None

    def stamp(self) -> Stamp | None:
        """What identifies the current pointer (None: nothing ingested yet)."""
        try:
            st = self.paths.current_file.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime, st.st_ino)

    def read(self, version: int) -> dict[str, Source]:
        """The sources of ``version``, by id, in the order they were indexed (read once per version)."""
        loaded = self._loaded
        if loaded is not None and loaded[0] == version:
            return loaded[1]
        with self._lock:
            if self._loaded is None or self._loaded[0] != version:
                sources: dict[str, Source] = {}
                path = self.paths.version_dir(version) / "sources.jsonl"
                with open(path, encoding="utf-8") as f:
                    for line in f:
                        source = Source.model_validate_json(line)
                        sources[source.id] = source
                self._loaded = (version, sources)
            return self._loaded[1]

    @property
    def version(self) -> int | None:
        """The current version, or None when nothing is ingested yet."""
        info = self.paths.current()
        return info["version"] if info else None

    def sources(self) -> dict[str, Source]:
        """The current version's sources ({} when nothing is ingested yet)."""
        version = self.version
        return {} if version is None else self.read(version)

    def get(self, source_id: str) -> Source | None:
        return self.sources().get(source_id)
