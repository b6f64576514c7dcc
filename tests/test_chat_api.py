"""The chat HTTP surface, used as clients use it (including the official openai client)."""

from __future__ import annotations

import json

import openai
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from assistant.sessions import SessionStore
from halls.asks import AskCounts
from halls.places import load_places, save_places
from knowledge import demo_dir
from zhiyin.app import create_app
from zhiyin.db import prepare_database
from zhiyin.services import Services
from zhiyin.settings import Settings


@pytest.fixture
def settings(demo_kb, models_dir, tmp_path) -> Settings:
    data = demo_kb.paths.root.parents[1]
    save_places(load_places(demo_dir() / "places.yaml"), demo_kb.paths.root / "places.json")
    return Settings(
        data_dir=data, kb="demo", models_dir=models_dir, database_url=f"sqlite:///{tmp_path / 'chat.db'}"
    )


@pytest.fixture
def client(settings) -> TestClient:
    return TestClient(create_app(Services(settings)))


def test_chat_conversation_keeps_its_session(client):
    first = client.post("/api/chat", json={"message": "开个体户要带啥材料"}).json()
    assert first["session_id"] and first["sources"] and not first["declined"]
    assert first["aspect"] == "materials" and first["suggestions"]
    follow = client.post(
        "/api/chat", json={"session_id": first["session_id"], "message": "那要多久？"}
    ).json()
    assert follow["session_id"] == first["session_id"]
    assert follow["aspect"] == "time" and "承诺办结时限" in follow["answer"]
    assert follow["sources"][0]["id"] == "990100-SCJG-0001"


def test_chat_with_place_and_decline_handoff(client):
    reply = client.post("/api/chat", json={"message": "今天天气怎么样", "place": "yc-center"}).json()
    assert reply["declined"] and reply["handoff"]["hotline"] == "12345" and reply["sources"] == []
    assert reply["reason"] == "chatter"  # why, for a digital human or the hall's reports
    here = client.post(
        "/api/chat", json={"message": "居民身份证补领要带什么", "place": "yc-taoxi-lihua"}
    ).json()
    assert "本点（梨花村便民服务站）不办理此事项" in here["answer"]


def test_streaming_sends_the_same_answer_in_pieces(client):
    with client.stream("POST", "/api/chat/stream", json={"message": "身份证丢了怎么补办"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = [block for block in body.split("\n\n") if block.strip()]
    kinds = [e.split("\n")[0].removeprefix("event: ") for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "delta" in kinds
    data = [json.loads(e.split("\n")[1].removeprefix("data: ")) for e in events]
    streamed = "".join(d["text"] for k, d in zip(kinds, data, strict=True) if k == "delta")
    assert streamed == data[-1]["answer"] and data[-1]["sources"]


def test_openai_compatible_endpoint_with_the_official_client(client):
    api = openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client)
    completion = api.chat.completions.create(
        model="zhiyin",
        messages=[
            {"role": "system", "content": "ignored"},
            {"role": "user", "content": "开个体户要带啥材料"},
            {"role": "assistant", "content": "…"},
            {"role": "user", "content": "那要多久"},
        ],
    )
    assert "承诺办结时限" in completion.choices[0].message.content
    assert completion.model_extra["sources"][0]["id"] == "990100-SCJG-0001"
    assert completion.model_extra["declined"] is False and completion.model_extra["reason"] is None
    chatter = api.chat.completions.create(
        model="zhiyin", messages=[{"role": "user", "content": "讲个笑话吧"}]
    )
    assert chatter.model_extra["declined"] and chatter.model_extra["reason"] == "chatter"
    stream = api.chat.completions.create(
        model="zhiyin", messages=[{"role": "user", "content": "身份证丢了怎么补办"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "居民身份证补领" in text


def test_feedback_is_stored(client, settings):
    reply = client.post("/api/chat", json={"message": "开个体户要带啥材料"}).json()
    saved = client.post(
        "/api/feedback",
        json={
            "session_id": reply["session_id"],
            "turn_id": reply["turn_id"],
            "rating": "bad",
            "comment": "请回电13812345678",
        },
    )
    assert saved.status_code == 201
    from sqlalchemy import text

    with create_engine(settings.database).connect() as db:
        rating, comment = db.execute(text("SELECT rating, comment FROM feedback")).one()
    assert rating == "bad" and "13812345678" not in comment and "138****5678" in comment


def test_personal_data_is_masked_before_storage(client, settings):
    reply = client.post(
        "/api/chat", json={"message": "我叫李小明，身份证110101199003071234，补办身份证要带啥"}
    ).json()
    with create_engine(settings.database).connect() as db:
        from sqlalchemy import text

        stored = [
            r[0]
            for r in db.execute(
                text("SELECT content FROM chat_turns WHERE session_id=:s"), {"s": reply["session_id"]}
            )
        ]
    assert stored and all("110101199003071234" not in c and "小明" not in c for c in stored)


@pytest.mark.parametrize(
    "message, secrets",
    [
        (
            "我身份证号220102199001011234，电话13812345678，社保卡丢了怎么补",
            ["220102199001011234", "13812345678"],
        ),
        ("电话１３８１２３４５６７８，社保卡丢了怎么补", ["１３８１２３４５６７８", "13812345678"]),
        ("身份证220102 19900101 1234，社保卡丢了怎么补", ["220102 19900101 1234", "19900101"]),
    ],
)
def test_no_phone_or_id_rests_in_clear_in_turns_or_session_state(client, settings, message, secrets):
    from sqlalchemy import text

    reply = client.post("/api/chat", json={"message": message}).json()
    with create_engine(settings.database).connect() as db:
        rows = db.execute(
            text(
                "SELECT content FROM chat_turns WHERE session_id=:s "
                "UNION ALL SELECT state FROM chat_sessions WHERE id=:s"
            ),
            {"s": reply["session_id"]},
        ).all()
    stored = [r[0] for r in rows]
    assert len(stored) == 3  # the question, the answer, the session's state
    assert not [(c, s) for c in stored for s in secrets if s in c]


def test_the_guides_words_are_stored_as_they_are_only_the_citizens_data_is_masked(client, settings):
    from sqlalchemy import text

    reply = client.post("/api/chat", json={"message": "我叫李小明，补办身份证要带啥"}).json()
    assert "本人" in reply["answer"]  # the guide says the applicant must come in person
    with create_engine(settings.database).connect() as db:
        answer = db.execute(
            text("SELECT content FROM chat_turns WHERE session_id=:s AND role='assistant'"),
            {"s": reply["session_id"]},
        ).scalar_one()
    assert answer == reply["answer"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({}, 422),
        ({"message": ""}, 422),
        ({"message": "   "}, 422),
        ({"message": "好" * 1001}, 422),
        ({"message": "你好", "place": "../../etc"}, 422),
        ({"message": 5}, 422),
    ],
)
def test_bad_chat_requests_get_clear_4xx(client, payload, status):
    response = client.post("/api/chat", json=payload)
    assert response.status_code == status and "detail" in response.json()


def test_oversized_body_and_rate_limit(settings):
    limited = TestClient(create_app(Services(settings.model_copy(update={"rate_limit_per_minute": 3}))))
    big = limited.post(
        "/api/chat", content=b"{" + b" " * 20000 + b"}", headers={"content-type": "application/json"}
    )
    assert big.status_code == 413
    codes = [limited.post("/api/chat", json={"message": "你好"}).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    blocked = limited.post("/api/chat", json={"message": "你好"})
    assert int(blocked.headers["Retry-After"]) >= 1
    assert limited.get("/healthz").status_code == 200  # health checks are not limited
    bad = limited.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]})
    assert bad.status_code == 429


def test_sessions_expire(tmp_path):
    import datetime as dt

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from assistant.engine import ConversationState
    from assistant.sessions import ChatSession

    store = SessionStore(prepare_database(f"sqlite:///{tmp_path / 's.db'}"), ttl_minutes=30)
    sid, _ = store.load(None, None)
    store.save_turn(sid, "问", "答", [], ConversationState(focus="X"))
    assert store.load(sid, None) == (sid, ConversationState(focus="X"))
    with Session(store.engine) as db:
        db.execute(update(ChatSession).values(updated=dt.datetime(2000, 1, 1)))
        db.commit()
    new_sid, state = store.load(sid, None)
    assert new_sid != sid and state.focus is None
    assert store.expire() == 1 and store.turns(sid) == []


def test_a_running_store_deletes_expired_conversations_by_itself(tmp_path):
    import datetime as dt

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from assistant.engine import ConversationState
    from assistant.sessions import ChatSession

    store = SessionStore(prepare_database(f"sqlite:///{tmp_path / 's.db'}"), ttl_minutes=30)
    old, _ = store.load(None, None)
    store.save_turn(old, "我的手机13812345678", "答", [], ConversationState())
    with Session(store.engine) as db:
        db.execute(update(ChatSession).values(updated=dt.datetime(2000, 1, 1)))
        db.commit()
    new, _ = store.load(None, None)
    store.save_turn(new, "问", "答", [], ConversationState())
    assert store.turns(old) != []  # swept at most once a minute: the first turn just swept
    store._next_sweep = 0.0  # a minute later
    store.save_turn(new, "再问", "答", [], ConversationState())
    assert store.turns(old) == [] and len(store.turns(new)) == 4


def test_asks_are_counted_per_place_and_item_on_both_databases(db_engine):
    store = AskCounts(db_engine)
    for place, item in [("hall", "A"), ("hall", "B"), ("window", "B"), (None, "C"), ("elsewhere", "C")]:
        store.count(place, item)
    assert store.most_asked({"hall", "window"}) == ["B", "A"]  # B twice inside the hall, then A
    assert store.most_asked({""}) == ["C"]  # asked at no place
    assert store.most_asked({"hall"}, n=1) == ["A"]  # ties go by id


def test_asks_are_counted_on_the_halls_day_not_utcs(db_engine):
    import datetime as dt

    from sqlalchemy import select

    from halls.asks import ItemAsk
    from halls.clock import hall_today

    half_past_midnight_in_beijing = dt.datetime(2026, 12, 7, 16, 30, tzinfo=dt.UTC)
    assert hall_today(half_past_midnight_in_beijing) == dt.date(2026, 12, 8)
    store = AskCounts(db_engine, today=lambda: hall_today(half_past_midnight_in_beijing))
    store.count("hall-of-the-8th", "A")
    with db_engine.connect() as conn:
        days = conn.execute(select(ItemAsk.day).where(ItemAsk.place_id == "hall-of-the-8th")).scalars().all()
    assert days == [dt.date(2026, 12, 8)]
    assert AskCounts(db_engine).today is hall_today  # what the server counts with


def test_a_turn_carries_its_summary_and_blocks(client):
    body = client.post("/api/chat", json={"message": "身份证丢了补办要带什么"}).json()
    assert body["summary"].startswith("需要") and len(body["summary"]) <= 80
    assert body["blocks"][0]["kind"] == "materials" and body["blocks"][0]["items"]
    asked_back = client.post("/api/chat", json={"message": "营业执照丢了咋整"}).json()
    assert asked_back["reason"] == "not_covered" and asked_back["choices"] and not asked_back["declined"]
