"""knowledge — the guide model, loading, indexing and retrieval.

Public API::

    from knowledge import load_sources, IndexWriter, KnowledgeBase, load_embedder
    report = load_sources([Path("guides/")])
    IndexWriter(data_dir, "default", embedder).ingest(report.sources)
    KnowledgeBase(data_dir, "default", embedder).search("开个体户要带啥", k=5)
    SourceStore(data_dir, "default").get("990100-GA-0001")   # the guides alone: no model, no index
"""

from importlib import resources
from pathlib import Path

from knowledge.embedding import EmbeddingModelError, load_embedder
from knowledge.index import IndexWriter, KnowledgeBaseError, list_kbs
from knowledge.loaders import LoadReport, load_sources
from knowledge.models import Chunk, Document, FaqRow, Guide, Hit, Material, Source
from knowledge.search import Fusion, KnowledgeBase
from knowledge.sources import SourceStore


def demo_dir() -> Path:
    """The bundled demo knowledge base of the fictional city 云川市 (``kb/`` and ``places.yaml``)."""
    return Path(str(resources.files("knowledge").joinpath("demo")))


__all__ = [
    "Chunk",
    "Document",
    "EmbeddingModelError",
    "FaqRow",
    "Fusion",
    "Guide",
    "Hit",
    "IndexWriter",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "LoadReport",
    "Material",
    "Source",
    "SourceStore",
    "demo_dir",
    "list_kbs",
    "load_embedder",
    "load_sources",
]
