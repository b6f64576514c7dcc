"""Several servers, one knowledge base: PostgreSQL holds the versions, the pointer, sources, chunks and
the lexical index; a Chroma server holds the vectors, a collection per build (issue 16)."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, update
from test_index import GUIDES, ingest, search_while_reingesting, write_kb

from knowledge import KnowledgeBase, SourceStore
from knowledge.index import IndexWriter
from knowledge.versions import DbVersions, KbServed, KbVersion
from zhiyin.app import create_app
from zhiyin.db import prepare_database, shared_engine
from zhiyin.services import Services
from zhiyin.settings import Settings
from zhiyin.usecases import ingest as ingest_use_case

FOLLOW_SECONDS = 10  # the promise: another server answers from a new version within this


@pytest.fixture
def pg_url(postgres_server) -> Iterator[str]:
    from eval.pg_cluster import create_database, drop_database

    name = f"test_{secrets.token_hex(6)}"
    url = create_database(postgres_server, name)
    yield url
    shared_engine(url).dispose()
    drop_database(postgres_server, name)


def collections(chroma_url: str) -> set[str]:
    return {c.name for c in chromadb.HttpClient(port=int(chroma_url.rsplit(":", 1)[1])).list_collections()}


def eventually(check, seconds: float = FOLLOW_SECONDS):
    """``check()``'s first truthy result within ``seconds`` (fails with the last value otherwise)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"not within {seconds} s: {value!r}"
            return value
        time.sleep(0.2)


def test_two_servers_building_the_same_version_keep_their_own_vectors(
    tmp_path, embedder, cache_dir, chroma_server
):
    """Each build has a collection of its own: the second server's version 1 does not replace the
    first's (before, both were ``zhiyin-default-v000001``)."""
    one, two = tmp_path / "one", tmp_path / "two"
    marriage = {"HY-1": GUIDES["HY-1"]}
    business = {"GTH-1": GUIDES["GTH-1"]}
    for data, guides in ((one, marriage), (two, business)):
        writer = IndexWriter(data, "default", embedder, chroma_url=chroma_server, cache_dir=cache_dir)
        assert ingest(writer, write_kb(tmp_path / f"kb-{data.name}", guides)).version == 1
    first = KnowledgeBase(one, "default", embedder, chroma_url=chroma_server)
    second = KnowledgeBase(two, "default", embedder, chroma_url=chroma_server)
    # each finds its own guide by its vectors too (not by the lexical index alone)
    for kb, question, guide in ((first, "结婚登记要带什么", "HY-1"), (second, "开个体户", "GTH-1")):
        hits = kb.search(question, k=3)
        assert [h.id for h in hits] == [guide] and hits[0].dense > 0.5
    names = collections(chroma_server)
    assert len(names) == 2 and all(n.startswith("zhiyin-default-v000001-") for n in names)


def test_a_build_that_fails_leaves_no_collection_on_the_chroma_server(
    tmp_path, writer_for, chroma_server, monkeypatch
):
    writer = writer_for(chroma_url=chroma_server)

    def fail(*_args) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(writer.versions, "publish", fail)
    with pytest.raises(RuntimeError, match="went away"):
        ingest(writer, write_kb(tmp_path / "kb"))
    assert collections(chroma_server) == set()


def test_an_old_version_is_deleted_only_when_no_server_served_it_for_the_grace_period(
    tmp_path, embedder, cache_dir, chroma_server, pg_url
):
    engine = prepare_database(pg_url)

    def versions(data: Path, grace: float) -> DbVersions:
        return DbVersions(engine, data, "default", poll_seconds=0.1, grace_seconds=grace)

    writing = versions(tmp_path / "writer", grace=3600)
    writer = IndexWriter(
        tmp_path / "writer", "default", embedder, chroma_server, cache_dir=cache_dir, versions=writing
    )
    folder = write_kb(tmp_path / "kb")
    assert ingest(writer, folder).version == 1
    reader = KnowledgeBase(
        tmp_path / "reader",
        "default",
        embedder,
        chroma_url=chroma_server,
        store=SourceStore(tmp_path / "reader", "default", versions(tmp_path / "reader", grace=3600)),
    )
    assert reader.search("开个体户")[0].id == "GTH-1"  # the reader serves version 1: a heartbeat
    served_v1 = reader._current().collection.name
    # and searching costs no database round trip between two polls of the pointer
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    reader.versions.poll_seconds = 60
    event.listen(engine, "before_cursor_execute", count)
    try:
        for question in ("开个体户", "身份证丢了", "领结婚证", "第一次办身份证"):
            assert reader.search(question)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []

    for fee in ("十元", "二十元"):
        changed = {**GUIDES, "HY-1": {**GUIDES["HY-1"], "fee": fee}}
        ingest(writer, write_kb(folder, changed))
    # within the grace period nothing old goes, served or not
    assert len(collections(chroma_server)) == 3
    # an hour on: version 2 was never served, version 1 was a minute ago
    with engine.begin() as conn:
        conn.execute(update(KbVersion).values(created=dt.datetime(2026, 1, 1)))
        conn.execute(update(KbServed).values(seen=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
    ingest(writer, folder)  # unchanged: cleans up all the same
    left = collections(chroma_server)
    assert served_v1 in left and len(left) == 2
    with engine.begin() as conn:
        conn.execute(update(KbServed).values(seen=dt.datetime(2026, 1, 1)))
    ingest(writer, folder)
    assert collections(chroma_server) == {writer.versions.manifest(3)["collection"]}
    with engine.connect() as conn:
        assert sorted(
            conn.execute(KbVersion.__table__.select().with_only_columns(KbVersion.version)).scalars()
        ) == [3]


def test_a_second_server_with_an_empty_data_dir_follows_an_ingest_on_the_first(
    tmp_path, models_dir, cache_dir, chroma_server, pg_url
):
    def server(name: str) -> Services:
        return Services(
            Settings(
                data_dir=tmp_path / name,
                models_dir=models_dir,
                cache_dir=cache_dir,
                database_url=pg_url,
                chroma_url=chroma_server,
                plate_secret="shared-plate-secret",
                booking_secret="shared-booking-secret",
            )
        )

    first, second = server("first"), server("second")
    assert first.settings.kb_in_database
    folder = write_kb(tmp_path / "kb")
    hall = "- id: hall\n  name: 桃溪镇便民服务中心\n  kind: township\n  hours: 周一至周五 8:30-17:30\n"
    places = tmp_path / "places.yaml"
    places.write_text(f"places:\n{hall}", encoding="utf-8")
    ingest_use_case(first, [folder], places=places)
    eventually(lambda: second.places.get("hall"))
    kb = second.knowledge_base()
    eventually(lambda: kb.search("领结婚证要带什么", k=3)[0].id == "HY-1")
    assert second.sources.get("HY-1").guide.fee is None

    # a new guide and a changed fee, ingested on the first, reach the second
    changed = {
        **GUIDES,
        "HY-1": {**GUIDES["HY-1"], "fee": "免费"},
        "JZZ-1": {"name": "居住证申领", "aliases": ["办居住证"], "materials": ["居住证明"]},
    }
    places.write_text(f"places:\n{hall.replace('17:30', '17:30，周六 9:00-12:00')}", encoding="utf-8")
    ingest_use_case(first, [write_kb(folder, changed)], places=places)
    eventually(lambda: kb.search("办居住证", k=3)[0].id == "JZZ-1")
    assert kb.get("HY-1").guide.fee == "免费"
    eventually(lambda: second.sources.get("HY-1").guide.fee == "免费")
    assert kb.version == 2
    assert [(row["name"], row["version"]) for row in second.knowledge_bases()] == [("default", 2)]
    eventually(lambda: second.places.get("hall").hours.endswith("周六 9:00-12:00"))
    with TestClient(create_app(second)) as http:  # and so does its web app
        hits = http.get("/api/search", params={"q": "办居住证", "k": 3}).json()
        assert hits[0]["id"] == "JZZ-1"
        assert http.get("/api/places/hall").json()["hours"].endswith("周六 9:00-12:00")
    # nothing of the knowledge base was kept on the second server's disk
    assert not (tmp_path / "second" / "kb").exists()


def test_searches_on_one_server_see_whole_versions_while_another_ingests(
    tmp_path, embedder, cache_dir, chroma_server, pg_url
):
    engine = prepare_database(pg_url)
    writing = DbVersions(engine, tmp_path / "writer", "default")
    writer = IndexWriter(
        tmp_path / "writer", "default", embedder, chroma_server, cache_dir=cache_dir, versions=writing
    )
    folder = write_kb(tmp_path / "kb")
    ingest(writer, folder)
    reading = DbVersions(engine, tmp_path / "reader", "default", poll_seconds=0.05)
    kb = KnowledgeBase(
        tmp_path / "reader",
        "default",
        embedder,
        chroma_url=chroma_server,
        store=SourceStore(tmp_path / "reader", "default", reading),
    )
    seen, versions, errors = search_while_reingesting(kb, lambda: writer, folder, rounds=2, pause=0.5)
    assert not errors
    assert seen <= set(versions), [sorted(s) for s in seen - set(versions)]
    assert len(seen) >= 2
