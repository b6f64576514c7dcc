"""The short answer first: a summary of at most 80 characters that answers what was asked, and the
guide's parts as blocks."""

from __future__ import annotations

import pytest

from assistant.engine import Assistant
from halls.places import PlaceDirectory, load_places
from knowledge import demo_dir


@pytest.fixture(scope="module")
def bot(demo_kb) -> Assistant:
    return Assistant(demo_kb, PlaceDirectory(load_places(demo_dir() / "places.yaml")))


def test_the_summary_answers_what_was_asked_from_the_guides_fields(bot):
    materials = bot.reply("身份证丢了补办要带什么")
    guide = bot.kb.get("990100-GA-0003").guide
    assert materials.summary.startswith(f"需要{len(guide.materials)}样材料")
    assert bot.reply("护照要交多少钱").summary == "收费：普通护照（电子护照）每本120元。"
    assert bot.reply("补办身份证收费吗").summary == f"收费：{guide.fee}。"
    assert bot.reply("开个体户收费吗").summary == "不收费。"
    assert all(
        len(bot.reply(q).summary) <= 80 for q in ("开个体户要带啥材料", "结婚登记要多久", "异地就医怎么备案")
    )


def test_at_a_doorplate_the_summary_says_first_whether_it_is_handled_here(bot):
    reply = bot.reply("身份证丢了怎么补办", place="yc-taoxi")
    assert reply.summary.startswith("本点（桃溪镇便民服务中心）不办理此事项")


def test_blocks_carry_the_guide_part_by_part(bot):
    reply = bot.reply("身份证丢了怎么补办")
    guide = bot.kb.get("990100-GA-0003").guide
    kinds = [b.kind for b in reply.blocks]
    assert kinds[0] == "materials" and len(reply.blocks[0].items) == len(guide.materials)
    assert {"time", "fee", "where"} <= set(kinds)


def test_a_decline_or_greeting_is_summarised_by_its_opening(bot):
    assert bot.reply("你好").summary == "您好！"
    declined = bot.reply("今天天气怎么样")
    assert declined.blocks == [] and declined.summary and len(declined.summary) <= 80


def test_an_answer_to_one_aspect_leads_with_the_summary_and_fits_a_phone(bot):
    for question in ("身份证丢了补办要带什么", "开个体户要带啥材料", "护照要交多少钱", "结婚登记要多久"):
        reply = bot.reply(question)
        assert reply.answer.startswith(reply.summary + "\n"), question
        assert len(reply.answer) <= 400, (question, len(reply.answer))
        assert f"/g/{reply.sources[-1].id}" in reply.answer  # the guide's full notice is one tap away
    guide = bot.kb.get("990100-GA-0003").guide
    materials = bot.reply("身份证丢了补办要带什么").answer
    assert all(m.name in materials for m in guide.materials)  # shortened, never a material left out
