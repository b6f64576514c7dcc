"""Homophone typos are read as meant; correctly written questions are left alone."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("question", "meant"),
    [
        ("租房子没签正式合同，还能办居住正吗？", "居住证"),  # three characters, one wrong
        ("个提户增加经营范围要多少钱？", "个体工商户"),  # respelled, then the variant lexicon
        ("居民医宝每年什么时候交下一年的？", "医保"),  # two lone characters, same tone
        ("港奥签注在自助机签完是不是马上就能出关？", "港澳"),
    ],
)
def test_a_homophone_typo_is_respelled_as_the_knowledge_base_word(demo_kb, question, meant):
    assert meant in demo_kb.respell(question)


@pytest.mark.parametrize(
    "question",
    [
        "能在手机上办吗？",  # 上办 is in the guides ("网上办理"): not 上班
        "什么都不懂，要准备什么？",  # 不懂 is a dictionary word: not 不动(产)
        "我想报名当志工",  # 志 reads zhì, 职 zhí: a two-character run needs the tone too
        "孩子考上外省大学了，户口要迁到学校去",
    ],
)
def test_a_correctly_written_question_is_left_as_it_is(demo_kb, question):
    from knowledge.text import normalise

    assert demo_kb.respell(question) == normalise(question)


def test_the_assistant_answers_a_question_with_a_typo_from_the_meant_item(demo_kb):
    from assistant.engine import Assistant

    reply = Assistant(demo_kb).reply("个提户增加经营范围要多少钱？")
    assert not reply.declined and reply.sources[0].id == "990100-SCJG-0002"
    assert "不收费" in reply.answer


def test_search_reads_a_typo_as_meant(demo_kb):
    # read as written, 房产症 finds the ID card's replacement first
    assert demo_kb.search("房产症遗失，要自己去登报吗？", k=1)[0].id == "990100-BDC-0002"
