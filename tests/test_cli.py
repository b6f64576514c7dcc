"""The command line as a user runs it: real processes, real files, real model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ZHIYIN = str(Path(sys.executable).parent / "zhiyin")

GOOD = "id: CLI-1\nname: 个体工商户设立登记\naliases: [开个体户]\nmaterials: [经营者身份证明]\npromised_days: 1\n"


def zhiyin(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ZHIYIN, *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def folder(tmp_path) -> Path:
    kb = tmp_path / "guides"
    kb.mkdir()
    (kb / "good.yaml").write_text(GOOD, encoding="utf-8")
    (kb / "broken.yaml").write_text("id: X\nname: [oops\n", encoding="utf-8")
    (kb / "readme.txt").write_text("not a source", encoding="utf-8")
    (kb / "faq.csv").write_text("编号,问题,答案\nc1,个体户能网上办吗？,可以，全程网办。\n", encoding="gbk")
    return kb


def test_ingest_reports_and_indexes_the_good_files(cli_env, folder):
    run = zhiyin(cli_env, "ingest", str(folder), "--kb", "cli")
    assert run.returncode == 1, run.stderr  # something was skipped
    out = run.stdout
    assert "guide 1" in out and "faq-csv 1" in out
    assert "Skipped (2)" in out and "broken.yaml" in out and "readme.txt" in out
    assert "embed:" in run.stderr  # progress, as plain lines when not on a terminal

    search = zhiyin(cli_env, "search", "开个体户要带啥", "--kb", "cli", "-k", "2")
    assert search.returncode == 0
    assert search.stdout.splitlines()[0].startswith("1. CLI-1  个体工商户设立登记")

    as_json = json.loads(zhiyin(cli_env, "search", "个体户能网上办吗", "--kb", "cli", "--json").stdout)
    assert {h["id"] for h in as_json} == {"CLI-1", "c1"}
    assert {"id", "title", "kind", "section", "score"} <= set(as_json[0])

    listing = zhiyin(cli_env, "kb", "list")
    assert "cli: version 1" in listing.stdout
    stats = json.loads(zhiyin(cli_env, "kb", "stats", "cli").stdout)
    assert stats["sources"] == 2 and stats["kinds"] == {"guide": 1, "faq": 1}


def test_clean_reingest_exits_zero_and_reports_unchanged(cli_env, folder):
    (folder / "broken.yaml").unlink()
    (folder / "readme.txt").unlink()
    first = zhiyin(cli_env, "ingest", str(folder), "--kb", "cli2")
    assert first.returncode == 0, first.stdout + first.stderr
    again = zhiyin(cli_env, "ingest", str(folder), "--kb", "cli2")
    assert again.returncode == 0 and "unchanged" in again.stdout and "newly embedded: 0" in again.stdout


def test_demo_ingest_installs_guides_documents_faq_and_places(cli_env, data_dir):
    run = zhiyin(cli_env, "ingest", "--demo", "--kb", "demo")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "markdown" in run.stdout and "faq-csv" in run.stdout
    places = json.loads((data_dir / "kb" / "demo" / "places.json").read_text())
    assert len(places) >= 12 and {p["kind"] for p in places} >= {"hall", "township", "village"}
    top = zhiyin(cli_env, "search", "帮办代办是免费的吗", "--kb", "demo", "-k", "3")
    assert "doc-bangban" in top.stdout


def test_bad_usage_gives_clear_errors(cli_env, tmp_path):
    nothing = zhiyin(cli_env, "ingest")
    assert nothing.returncode == 2 and "give at least one PATH" in nothing.stderr
    missing = zhiyin(cli_env, "search", "你好", "--kb", "absent")
    assert missing.returncode == 2 and "zhiyin ingest" in missing.stderr and "Traceback" not in missing.stderr
    bad_name = zhiyin(cli_env, "search", "你好", "--kb", "../x")
    assert bad_name.returncode == 2 and "invalid knowledge base name" in bad_name.stderr
    no_model = zhiyin({**cli_env, "ZHIYIN_MODELS_DIR": str(tmp_path / "none")}, "search", "你好")
    assert no_model.returncode == 2 and "zhiyin model build" in no_model.stderr


def test_eval_writes_the_metrics_json(cli_env, folder, tmp_path):
    zhiyin(cli_env, "ingest", str(folder), "--kb", "ev")
    questions = tmp_path / "set.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(q, ensure_ascii=False)
            for q in [
                {"id": "q1", "question": "开个体户要带啥材料", "expect": ["CLI-1"], "tags": ["materials"]},
                {"id": "q2", "question": "个体户能在网上办吗", "expect": ["c1"], "tags": ["online"]},
                {"id": "q3", "question": "今天天气怎么样", "expect": [], "tags": ["out-of-scope"]},
            ]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "metrics.json"
    run = zhiyin(cli_env, "eval", str(questions), "--kb", "ev", "--json", str(out))
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text())
    assert set(result) >= {"overall", "by_tag"}
    assert {"n", "hit@1", "hit@3", "hit@5", "mrr@10", "latency_ms_p50", "latency_ms_p95"} <= set(
        result["overall"]
    )
    assert result["overall"]["n"] == 3 and result["overall"]["hit@5"] == 1.0
    assert result["overall"]["oos_declined"] == 1.0 and result["overall"]["in_scope_declined"] == 0.0
    assert set(result["by_tag"]) == {"materials", "online", "out-of-scope"}

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "question": "问"}\n{not json\n', encoding="utf-8")
    bad = zhiyin(cli_env, "eval", str(broken), "--kb", "ev")
    assert bad.returncode == 2 and "line 2" in bad.stderr


def test_ask_answers_with_sources_or_hands_off(cli_env, folder):
    zhiyin(cli_env, "ingest", str(folder), "--kb", "askkb")
    answer = zhiyin(cli_env, "ask", "开个体户要带啥材料", "--kb", "askkb")
    assert answer.returncode == 0 and "经营者身份证明" in answer.stdout and "来源：CLI-1" in answer.stdout
    declined = zhiyin(cli_env, "ask", "帮我写一首关于春天的诗", "--kb", "askkb")
    assert "12345" in declined.stdout and "转人工" in declined.stdout


def test_taipei_questions_expect_every_record_with_the_same_answer(tmp_path):
    from eval.tpe import read_tpe

    def record(data_id: str, question: str, answer: str) -> str:
        return (
            f"<data><deptName>臺北市政府民政局</deptName><data_id>{data_id}</data_id>"
            f"<news_title>{question}</news_title><news_content>{answer}</news_content>"
            "<keyword>戶籍</keyword></data>"
        )

    xml = tmp_path / "faq.xml"
    xml.write_text(
        "<xmlmessage><datas>"
        + record("A", "如何申請戶籍謄本？", "&lt;p&gt;請至戶政事務所申請。&lt;/p&gt;")
        + record("B", "戶籍謄本去哪裡辦？", "請至戶政事務所申請。")
        + record("C", "結婚登記要帶什麼？", "雙方身分證、印章。")
        + "</datas></xmlmessage>",
        encoding="utf-8",
    )
    sources, questions = read_tpe(xml)
    assert [s.id for s in sources] == ["A", "B", "C"]
    assert "如何申請" not in sources[0].document.text  # the question is never indexed
    assert {q.id: q.expect for q in questions} == {"A": ["A", "B"], "B": ["A", "B"], "C": ["C"]}


def test_a_running_server_follows_the_places_an_ingest_replaces(cli_env, folder, tmp_path, models_dir):
    from fastapi.testclient import TestClient

    from zhiyin.app import create_app
    from zhiyin.services import Services
    from zhiyin.settings import Settings

    (folder / "broken.yaml").unlink()
    (folder / "readme.txt").unlink()
    hall = "- id: hall\n  name: 桃溪镇便民服务中心\n  kind: township\n  hours: 周一至周五 8:30-17:30\n"
    places = tmp_path / "places.yaml"
    places.write_text(f"places:\n{hall}", encoding="utf-8")
    assert zhiyin(cli_env, "ingest", str(folder), "--kb", "town", "--places", str(places)).returncode == 0
    settings = Settings(
        data_dir=cli_env["ZHIYIN_DATA_DIR"], kb="town", models_dir=models_dir, rate_limit_per_minute=10_000
    )
    client = TestClient(create_app(Services(settings)))
    assert client.get("/api/places/hall").json()["hours"] == "周一至周五 8:30-17:30"
    assert client.get("/api/places/station").status_code == 404

    # the town adds Saturday hours and a village station; the running server shows both
    hall = hall.replace("8:30-17:30", "8:30-17:30，周六 9:00-12:00")
    station = "- id: station\n  name: 江湾村便民服务站\n  kind: village\n  parent: hall\n"
    places.write_text(f"places:\n{hall}{station}", encoding="utf-8")
    again = zhiyin(cli_env, "ingest", str(folder), "--kb", "town", "--places", str(places))
    assert again.returncode == 0, again.stderr
    assert client.get("/api/places/hall").json()["hours"].endswith("周六 9:00-12:00")
    assert client.get("/api/places/hall").json()["children"] == ["station"]
    assert client.get("/api/places/station").json()["name"] == "江湾村便民服务站"

    # a places file broken by hand does not take the places down
    (Path(cli_env["ZHIYIN_DATA_DIR"]) / "kb" / "town" / "places.json").write_text("[{", encoding="utf-8")
    assert client.get("/api/places/station").json()["name"] == "江湾村便民服务站"


def test_db_purge_deletes_the_bookings_of_days_long_past(cli_env, data_dir):
    import datetime as dt

    from booking_helpers import CARD, PHONE, Clock, at, demo_catalog
    from sqlalchemy import func, select

    from doorplate.booking import BookingService
    from doorplate.models import Booking
    from zhiyin.db import create_db_engine, migrate

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(f"sqlite:///{data_dir / 'zhiyin.db'}")
    migrate(engine)

    monday = dt.date(2026, 3, 16)  # a working Monday, more than 90 days before any run of this test
    clock = Clock(monday, 8)
    BookingService(engine, demo_catalog(), b"k", clock=clock).book(
        "yc-taoxi", CARD, at(monday, 9), "张三", PHONE
    )
    result = zhiyin(cli_env, "db", "purge", "--days", "90")
    assert result.returncode == 0, result.stderr
    assert "1 bookings" in result.stdout
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Booking)).scalar() == 0
    bad = zhiyin(cli_env, "db", "purge", "--days", "0")
    assert bad.returncode == 2 and "--days" in bad.stderr
