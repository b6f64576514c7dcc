"""How a loaded embedding model holds its weights: in the process's own memory, compactly.

sentence-transformers maps the weights file into memory. That costs nothing at load, but the
word-embedding table (XLM-R: 250,037 × 384 floats, 384 MB, of which Chinese and English text
uses a small part) then fills in page by page as new words arrive, and a server's resident memory
creeps up by hundreds of MB. ``fit_weights`` instead

- keeps the word-embedding table in bfloat16 (192 MB), read from the file block by block;
- on a CPU with native bfloat16, stores the dense layers' weights in it for
  ``knowledge.embedding.cpu_precision``: the same products as autocast's (which would cast the
  float32 weights on every call) at half the memory traffic — a short question embeds in ~14 ms
  instead of ~24 ms on two cores;
- copies everything else, so nothing points into the mapped file any more.

The vectors keep a cosine ≥ 0.9999 to the float32 model's (tests/test_model_build.py).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open

BLOCK_ROWS = 16384


class Bf16WordEmbedding(torch.nn.Module):
    """A word-embedding lookup over a bfloat16 table, answering in float32."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.register_buffer("weight", weight)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding(ids, self.weight).float()


def fit_weights(model, folder: Path, bf16: bool) -> None:
    transformer = getattr(model[0], "auto_model", None) if len(model) else None
    if transformer is None or not hasattr(transformer, "get_input_embeddings"):
        return
    with torch.no_grad():
        table = transformer.get_input_embeddings()
        if isinstance(table, torch.nn.Embedding) and table.weight.dtype == torch.float32:
            transformer.set_input_embeddings(Bf16WordEmbedding(bf16_word_table(table, folder)))
            del table
        for module in transformer.modules():
            if isinstance(module, Bf16WordEmbedding):
                continue
            to_bf16 = bf16 and isinstance(module, torch.nn.Linear)
            for tensor in [*module.parameters(recurse=False), *module.buffers(recurse=False)]:
                if to_bf16 and tensor.is_floating_point():
                    tensor.data = tensor.data.to(torch.bfloat16)
                else:
                    tensor.data = tensor.data.clone()


def bf16_word_table(table: torch.nn.Embedding, folder: Path) -> torch.Tensor:
    """The word-embedding table in bfloat16, read from the weights file block by block."""
    shape = tuple(table.weight.shape)
    compact = torch.empty(shape, dtype=torch.bfloat16)
    weights, key = _word_embedding_tensor(folder, shape)
    for start in range(0, shape[0], BLOCK_ROWS):
        if weights is None:
            part = table.weight.detach()[start : start + BLOCK_ROWS]
        else:  # each block's mapping is closed after it: the float32 table is never resident
            with safe_open(str(weights), framework="pt") as f:
                part = f.get_slice(key)[start : start + BLOCK_ROWS]
        compact[start : start + BLOCK_ROWS] = part.to(torch.bfloat16)
    return compact


def _word_embedding_tensor(folder: Path, shape: tuple[int, ...]) -> tuple[Path | None, str]:
    """The safetensors file and key holding the word-embedding table, if there is one."""
    for weights in sorted(folder.rglob("*.safetensors")):
        with safe_open(str(weights), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open is not a dict
                if key.endswith("word_embeddings.weight") and tuple(f.get_slice(key).get_shape()) == shape:
                    return weights, key
    return None, ""
