"""Coverage, not similarity, decides: an item answers only the act and the object it is for; one's
own records are looked up, not answered; a region that opens a question is the place of its rule."""

from __future__ import annotations

import pytest

from assistant.coverage import CoverageIndex, is_personal_lookup
from assistant.engine import Assistant
from assistant.regions import foreign_region
from assistant.understanding import understand
from knowledge.models import Hit
from knowledge.text import normalise


@pytest.fixture(scope="module")
def bot(demo_kb) -> Assistant:
    return Assistant(demo_kb)


def item(bot: Assistant, source_id: str) -> Hit:
    source = bot.kb.get(source_id)
    return Hit(id=source.id, title=source.title, kind=source.kind, section="overview", score=1.0)


def gap(bot: Assistant, question: str, source_id: str):
    u = understand(normalise(question))
    return CoverageIndex(bot.kb).gap(u.text, u.residual, item(bot, source_id))


def test_an_item_for_another_act_or_object_does_not_cover_the_question(bot):
    assert gap(bot, "营业执照丢了咋整", "990100-SCJG-0007").kind == "act"  # 有限责任公司普通注销登记
    assert gap(bot, "营业执照遗失补办", "990100-GA-0003").kind == "object"  # 居民身份证补领
    assert gap(bot, "身份证丢了怎么补办", "990100-GA-0003") is None
    assert gap(bot, "开个体户要带啥材料", "990100-SCJG-0001") is None  # 个体工商户设立登记


def test_a_plain_item_covers_another_act_only_when_its_text_speaks_of_it(bot):
    assert gap(bot, "居住证丢了补一个收钱吗", "990100-GA-0009") is None  # 居住证申领 tells how to 补领


def test_an_item_for_foreigners_does_not_answer_a_question_that_speaks_as_none():
    foreign = Hit(id="x", title="换发外国人永久居留身份证", kind="guide", section="overview", score=1.0)
    assert CoverageIndex._for_other_applicants("身份证过期了换新的要带什么", foreign)
    assert not CoverageIndex._for_other_applicants("外国人永久居留身份证过期了怎么换", foreign)


def test_no_guide_for_the_act_asks_back_with_the_closest_items_instead_of_answering_another(bot):
    reply = bot.reply("营业执照丢了咋整")
    assert reply.reason == "not_covered" and reply.sources == []
    assert reply.answer.startswith("没有找到“营业执照遗失补办”的办事指南")
    assert reply.choices and all("营业执照" not in c.title or "补" in c.title for c in reply.choices)
    assert "注销" not in reply.answer.split("您是要办")[0]  # no rule of 注销 is given as the answer


def test_an_object_no_candidate_mentions_is_declined_with_a_person_to_turn_to(bot):
    reply = bot.reply("驾照丢了咋补办啊")
    assert reply.reason in ("not_covered", "no_match") and not reply.sources
    assert reply.handoff and reply.handoff["hotline"] == "12345"


@pytest.mark.parametrize(
    "question, personal",
    [
        ("查一下我的社保缴费记录", True),
        ("我的低保申请到哪一步了", True),
        ("帮我查下社保交了几年", True),
        ("我们公司的高企认定结果出来没有", True),
        ("Can you check my social insurance status?", True),
        ("怎么查我的社保缴费记录", False),
        ("社保缴费记录在哪里查", False),
        ("开个体户要带啥材料", False),
        ("我的身份证丢了怎么补办", False),
        ("我上个月在社区交的低保申请，现在审到哪一步了", True),  # a long way from 我 to the status
        ("我的残疾证审核通过没有", True),
        ("我加入了外国国籍，个人账户里的钱能一次性退出来吗", False),  # 退出来 is no result
    ],
)
def test_a_personal_look_up_is_told_by_its_shape(question, personal):
    assert is_personal_lookup(normalise(question)) is personal


def test_a_personal_look_up_is_declined_saying_where_to_look(bot):
    reply = bot.reply("帮我查一下我的社保缴费记录")
    assert reply.declined and reply.reason == "personal_lookup" and reply.sources == []
    assert "不能替您查" in reply.answer and "12345" in reply.answer


@pytest.mark.parametrize(
    "question, region",
    [
        ("北京考驾照第一次申领要什么材料", "北京"),
        ("长沙低保怎么申请", "长沙"),
        ("湖南人在这边能办居住证吗", None),
        ("去上海看病，异地就医怎么备案", None),
    ],
)
def test_a_region_that_opens_the_question_is_the_place_of_its_rule(question, region):
    assert foreign_region(normalise(question), {"云川市", "云川"}) == region


def test_a_question_asked_as_a_foreigner_needs_an_item_that_speaks_of_foreigners(bot):
    assert gap(bot, "外国人能在云川开个体户吗", "990100-SCJG-0001").groups == ("foreigner",)
    assert gap(bot, "开个体户要带啥材料", "990100-SCJG-0001") is None
    reply = bot.reply("外国人能在云川开个体户吗")
    assert reply.declined and reply.answer.startswith("没有找到“外国人办理个体工商户设立登记”的办事指南")
    english = bot.reply("I'm a foreigner, can I open a sole proprietorship here?")  # read by the glossary
    assert english.declined and not english.sources


def test_a_document_no_guide_is_named_with_must_be_spoken_of(bot):
    assert gap(bot, "行驶证丢了去哪补", "990100-BDC-0002").kind == "object"  # 不动产权证书补证
    assert bot.reply("行驶证丢了去哪补").declined
    assert gap(bot, "驾照到期了怎么换", "990100-JG-0001") is None


def test_when_the_best_item_does_not_cover_but_another_does_it_asks_back_with_both():
    from assistant.coverage import Gap
    from assistant.policy import Case, decide

    hits = [
        Hit(id=i, title=t, kind="guide", section="overview", score=2.0 - n / 10, dense=0.95)
        for n, (i, t) in enumerate([("a", "导游证查询"), ("b", "旅行社业务经营许可")])
    ]
    case = Case("导游证怎么申请", "zh", hits, known_share=1.0, items=hits)
    covered = decide(case)
    assert covered.kind == "answer"
    unsure = decide(Case(**{**case.__dict__, "gaps": (Gap("act", ("导游证",), ("first",)), None)}))
    assert unsure.kind == "clarify" and [c.id for c in unsure.choices] == ["a", "b"]
    assert unsure.reason == "unsure"


def test_a_foreign_person_is_the_foreigner_group_but_going_abroad_is_not():
    from assistant.audiences import asked_groups

    assert "foreigner" in asked_groups("想开一所专门招外国孩子的学校")
    assert "foreigner" in asked_groups("我老婆是韩国人")
    assert "foreigner" not in asked_groups("去外国旅游要办护照吗")
