"""The optional LLM path against a small OpenAI-compatible server on localhost, and its fallback."""

from __future__ import annotations

import socket
import time

import pytest
from conftest import serve
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from assistant.engine import Assistant
from assistant.llm import LLMRewriter, keeps_facts, key_facts


def fake_llm_app() -> FastAPI:
    app = FastAPI()
    app.state.prompts = []

    @app.post("/v1/chat/completions")
    async def complete(request: Request):
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        app.state.prompts.append(prompt)
        draft = prompt.split("草拟答复：\n", 1)[1]
        model = body["model"]
        if model == "broken":
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=500)
        if model == "slow":
            time.sleep(3)
        content = {
            "polite": "您好！按指南给您说明：\n" + draft,
            "lossy": "具体请到窗口咨询。",
            "inventive": draft + "\n另外可办加急，加急服务费200元，咨询电话13900001111。",
            "name-dropper": draft + "\n顺便可以一起办“内地居民结婚登记”。",
        }.get(model, draft)
        return {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
        }

    return app


@pytest.fixture(scope="module")
def llm_server():
    app = fake_llm_app()
    with serve(app) as url:
        yield f"{url}/v1", app


def bot_with(demo_kb, url: str, model: str) -> Assistant:
    return Assistant(demo_kb, rewriter=LLMRewriter(url, model, timeout=1.0))


def test_rewrite_is_used_when_it_keeps_the_facts(demo_kb, llm_server):
    url, app = llm_server
    reply = bot_with(demo_kb, url, "polite").reply("居民身份证补领要带什么材料")
    assert reply.rewritten and reply.answer.startswith("您好！")
    assert reply.sources[0].id == "990100-GA-0003"  # sources are kept
    assert "办事指南原文" in app.state.prompts[-1] and "居民身份证补领" in app.state.prompts[-1]


@pytest.mark.parametrize("model", ["lossy", "slow", "broken"])
def test_composed_answer_is_the_fallback(demo_kb, llm_server, model):
    url, _ = llm_server
    plain = Assistant(demo_kb).reply("开个体户要带啥材料")
    started = time.perf_counter()
    reply = bot_with(demo_kb, url, model).reply("开个体户要带啥材料")
    assert not reply.rewritten and reply.answer == plain.answer
    assert time.perf_counter() - started < 2.5  # a slow model is cut off by the timeout


def test_unreachable_llm_falls_back(demo_kb):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    reply = bot_with(demo_kb, f"http://127.0.0.1:{port}/v1", "any").reply("身份证丢了怎么补办")
    assert not reply.rewritten and "居民身份证补领" in reply.answer


def test_declines_never_go_through_the_llm(demo_kb, llm_server):
    url, app = llm_server
    before = len(app.state.prompts)
    reply = bot_with(demo_kb, url, "polite").reply("今天天气怎么样")
    assert reply.declined and len(app.state.prompts) == before


def test_fact_check_helpers():
    composed = (
        "承诺办结时限：1个工作日。收费：工本费20元。咨询电话：0999-1234567。网办：https://x.example/item/1。"
    )
    facts = key_facts(composed, None, "time")
    assert {"1个工作日", "20元", "0999-1234567", "https://x.example/item/1"} <= set(facts)
    assert keeps_facts("您好，1 个工作日办好，工本费20元，电话0999-1234567，https://x.example/item/1", facts)
    assert not keeps_facts("您好，很快就办好。", facts)


@pytest.mark.parametrize("model", ["inventive", "name-dropper"])
def test_a_rewrite_that_adds_what_the_guide_does_not_say_is_discarded(demo_kb, llm_server, model):
    url, _ = llm_server
    plain = Assistant(demo_kb).reply("身份证丢了怎么补办")
    reply = bot_with(demo_kb, url, model).reply("身份证丢了怎么补办")
    assert not reply.rewritten and reply.answer == plain.answer
    assert "200元" not in reply.answer and "13900001111" not in reply.answer


def test_the_llm_is_skipped_for_a_while_after_three_failures_in_a_row(demo_kb, llm_server):
    url, app = llm_server
    bot = bot_with(demo_kb, url, "broken")
    before = len(app.state.prompts)
    for question in ["身份证丢了怎么补办", "开个体户要带啥材料", "结婚要带什么", "护照怎么办", "社保卡丢了"]:
        assert not bot.reply(question).rewritten
    assert len(app.state.prompts) - before == 3  # the last two were not sent
    bot.rewriter.breaker._open_until = 0.0  # a minute later
    bot.reply("身份证丢了怎么补办")
    assert len(app.state.prompts) - before == 4


def test_the_openai_compatible_endpoint_asks_the_llm_once_per_request(demo_settings, llm_server):
    from fastapi.testclient import TestClient

    from zhiyin.app import create_app
    from zhiyin.services import Services

    url, app = llm_server
    settings = demo_settings.model_copy(update={"llm_base_url": url, "llm_model": "polite"})
    with TestClient(create_app(Services(settings))) as client:
        before = len(app.state.prompts)
        messages = [
            {"role": "user", "content": "开个体户要带啥材料"},
            {"role": "assistant", "content": "……"},
            {"role": "user", "content": "那要多久"},
            {"role": "assistant", "content": "……"},
            {"role": "user", "content": "收费吗"},
        ]
        done = client.post("/v1/chat/completions", json={"model": "zhiyin", "messages": messages})
        assert done.status_code == 200 and done.json()["choices"][0]["message"]["content"].startswith(
            "您好！"
        )
        assert len(app.state.prompts) - before == 1
