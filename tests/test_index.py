"""Incremental, atomic indexing on real Chroma (embedded and server) with the real model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from knowledge import KnowledgeBase, load_sources
from knowledge.index import KbPaths, KnowledgeBaseError

GUIDES = {
    "SFZ-1": {
        "name": "居民身份证首次申领",
        "aliases": ["第一次办身份证"],
        "materials": ["户口簿原件"],
        "promised_days": 20,
    },
    "SFZ-3": {
        "name": "居民身份证补领",
        "aliases": ["身份证丢了补办"],
        "materials": ["户口簿", "近期照片"],
        "promised_days": 20,
    },
    "GTH-1": {
        "name": "个体工商户设立登记",
        "aliases": ["开个体户"],
        "materials": ["经营者身份证明", "经营场所证明"],
        "promised_days": 1,
    },
    "HY-1": {
        "name": "内地居民结婚登记",
        "aliases": ["领结婚证"],
        "materials": ["双方户口簿", "双方身份证"],
        "promised_days": 0,
    },
}


def write_kb(folder: Path, guides: dict = GUIDES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.yaml"):
        path.unlink()
    for gid, fields in guides.items():
        (folder / f"{gid}.yaml").write_text(
            yaml.safe_dump({"id": gid, **fields}, allow_unicode=True), encoding="utf-8"
        )
    return folder


def ingest(writer, folder: Path, prune: bool = False):
    return writer.ingest(load_sources([folder]).sources, prune=prune)


def search_while_reingesting(
    kb: KnowledgeBase, new_writer, folder: Path, rounds: int, pause: float
) -> tuple[set[frozenset[str]], list[frozenset[str]], list[Exception]]:
    """Search without pause in a thread while ``rounds`` new versions are ingested (each with one more
    guide): the source sets the searches saw, the versions' source sets, and any search's error."""
    seen: set[frozenset[str]] = set()
    errors: list[Exception] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            try:
                seen.add(frozenset(h.id for h in kb.search("个体户", k=20)))
            except Exception as exc:  # any failure is a defect
                errors.append(exc)

    thread = threading.Thread(target=searcher)
    thread.start()
    versions = [frozenset(GUIDES)]
    try:
        for i in range(rounds):
            extra = {
                f"EXTRA-{j}": {"name": f"个体户相关事项{j}", "materials": ["申请表"]} for j in range(i + 1)
            }
            ingest(new_writer(), write_kb(folder, {**GUIDES, **extra}), prune=True)
            versions.append(frozenset(GUIDES) | frozenset(extra))
            time.sleep(pause)
    finally:
        stop.set()
        thread.join()
    return seen, versions, errors


def test_search_finds_the_right_item_with_section_and_score(tmp_path, writer_for, embedder, data_dir):
    result = ingest(writer_for(), write_kb(tmp_path / "kb"))
    assert result.changed and result.version == 1 and sorted(result.added) == sorted(GUIDES)
    kb = KnowledgeBase(data_dir, "default", embedder)
    hits = kb.search("开个体户要带啥材料", k=3)
    assert hits[0].id == "GTH-1" and hits[0].title == "个体工商户设立登记"
    assert hits[0].section in {"overview", "materials"} and hits[0].score > 0
    assert kb.search("我的身分證丟了")[0].id == "SFZ-3"  # traditional + variant words
    from knowledge.vectors import HNSW_EF_SEARCH

    # the graph search explores widely enough to find the true nearest chunks (knowledge/vectors.py)
    hnsw = kb._current().collection.collection.configuration["hnsw"]
    assert hnsw["space"] == "cosine" and hnsw["ef_search"] == HNSW_EF_SEARCH


def test_reingesting_unchanged_embeds_nothing_and_keeps_the_version(tmp_path, writer_for):
    folder = write_kb(tmp_path / "kb")
    first = ingest(writer_for(), folder)
    again = ingest(writer_for(), folder)
    assert not again.changed and again.version == first.version
    assert again.unchanged == len(GUIDES) and again.embedded == 0


def test_an_edited_variant_lexicon_reindexes_every_source(tmp_path, writer_for, monkeypatch):
    import knowledge.index

    folder = write_kb(tmp_path / "kb")
    first = ingest(writer_for(), folder)
    monkeypatch.setattr(knowledge.index, "lexicon_fingerprint", lambda: "edited")
    again = ingest(writer_for(), folder)
    assert again.changed and again.version == first.version + 1
    assert sorted(again.updated) == sorted(GUIDES)


def test_changed_source_is_replaced_and_only_its_text_embedded(tmp_path, writer_for, embedder, data_dir):
    folder = write_kb(tmp_path / "kb")
    ingest(writer_for(), folder)
    changed = dict(GUIDES)
    changed["HY-1"] = {**GUIDES["HY-1"], "fee": "免费，另有一项全新的说明文字用于测试"}
    result = ingest(writer_for(), write_kb(folder, changed))
    assert result.updated == ["HY-1"] and result.version == 2
    assert 0 < result.embedded <= 2  # the changed section (and nothing that was unchanged)
    kb = KnowledgeBase(data_dir, "default", embedder)
    assert kb.get("HY-1").guide.fee.startswith("免费")


def test_removed_source_stays_without_prune_and_goes_with_it(tmp_path, writer_for, embedder, data_dir):
    folder = write_kb(tmp_path / "kb")
    ingest(writer_for(), folder)
    fewer = {k: v for k, v in GUIDES.items() if k != "HY-1"}
    kept = ingest(writer_for(), write_kb(folder, fewer))
    assert not kept.changed and kept.sources == len(GUIDES)
    pruned = ingest(writer_for(), folder, prune=True)
    assert pruned.removed == ["HY-1"] and pruned.sources == len(fewer)
    kb = KnowledgeBase(data_dir, "default", embedder)
    assert kb.get("HY-1") is None
    assert all(h.id != "HY-1" for h in kb.search("结婚登记要带什么", k=5))


def test_old_versions_are_cleaned_up(tmp_path, writer_for, data_dir):
    folder = write_kb(tmp_path / "kb")
    for i in range(4):
        changed = {**GUIDES, "HY-1": {**GUIDES["HY-1"], "fee": f"第{i}版"}}
        ingest(writer_for(), write_kb(folder, changed))
    versions = sorted(p.name for p in KbPaths(data_dir, "default").versions.iterdir())
    assert versions == ["v000003", "v000004"]


def test_searches_during_reingest_see_a_whole_version(tmp_path, writer_for, embedder, data_dir):
    folder = write_kb(tmp_path / "kb")
    ingest(writer_for(), folder)
    kb = KnowledgeBase(data_dir, "default", embedder)
    seen, versions, errors = search_while_reingesting(kb, writer_for, folder, rounds=3, pause=0.3)
    assert not errors
    # every search saw exactly the sources of one version, never a mix of two
    assert seen <= set(versions), [sorted(s) for s in seen - set(versions)]
    assert len(seen) >= 2


def test_interrupted_ingest_leaves_the_current_version_working(tmp_path, writer_for, embedder, data_dir):
    folder = write_kb(tmp_path / "kb")
    ingest(writer_for(), folder)
    writer = writer_for()

    class Boom(RuntimeError):
        pass

    def fail(_texts):
        raise Boom("power cut")

    writer.embedder = type(
        "Failing", (), {"name": embedder.name, "dim": embedder.dim, "embed_passages": staticmethod(fail)}
    )()
    changed = {**GUIDES, "NEW-1": {"name": "完全新增的测试事项", "materials": ["申请表"]}}
    with pytest.raises(Boom):
        ingest(writer, write_kb(folder, changed))
    kb = KnowledgeBase(data_dir, "default", embedder)
    assert kb.version == 1 and kb.get("NEW-1") is None
    assert ingest(writer_for(), folder).version == 2  # the next ingest recovers


def test_empty_or_invalid_knowledge_base_gives_a_clear_error(data_dir, embedder):
    with pytest.raises(KnowledgeBaseError, match="zhiyin ingest"):
        KnowledgeBase(data_dir, "nothing-here", embedder).search("你好")
    with pytest.raises(KnowledgeBaseError, match="invalid knowledge base name"):
        KnowledgeBase(data_dir, "../etc", embedder)


def test_chroma_server_backend(tmp_path, writer_for, embedder, data_dir, chroma_server):
    folder = write_kb(tmp_path / "kb")
    result = ingest(writer_for("srv", chroma_url=chroma_server), folder)
    assert result.version == 1
    kb = KnowledgeBase(data_dir, "srv", embedder, chroma_url=chroma_server)
    assert kb.search("第一次办身份证要带什么")[0].id == "SFZ-1"
    changed = {**GUIDES, "HY-1": {**GUIDES["HY-1"], "fee": "不收费"}}
    for _ in range(2):
        changed["HY-1"]["fee"] += "。"
        ingest(writer_for("srv", chroma_url=chroma_server), write_kb(folder, changed))
    import chromadb

    names = {
        c.name for c in chromadb.HttpClient(port=int(chroma_server.rsplit(":", 1)[1])).list_collections()
    }
    # the two newest versions, each in a collection of its own build (file mode keeps two versions)
    assert sorted(n.rsplit("-", 1)[0] for n in names) == ["zhiyin-srv-v000002", "zhiyin-srv-v000003"]
    assert kb._current().collection.name in names
    assert kb._current().collection.collection.configuration["hnsw"]["ef_search"] >= 1000
    assert kb.search("个体户")[0].id == "GTH-1"
