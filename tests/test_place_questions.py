"""The place knows itself: at a doorplate, questions about the place are answered from its own
record, and "本点可以/不可以办理" follows the place's item list, zones and windows included."""

from __future__ import annotations

import pytest
import yaml

from assistant.engine import Assistant
from doorplate.catalog import ServiceCatalog
from halls.places import PlaceDirectory, load_places
from knowledge import SourceStore, demo_dir


@pytest.fixture(scope="module")
def bot(demo_kb) -> Assistant:
    return Assistant(demo_kb, PlaceDirectory(load_places(demo_dir() / "places.yaml")))


def test_questions_about_a_township_centre_are_answered_from_its_own_record(bot):
    taoxi = bot.directory.get("yc-taoxi")
    saturday = bot.reply("周六开门吗", place="yc-taoxi")
    assert not saturday.declined and saturday.sources == []
    assert taoxi.hours in saturday.answer and "周六、周日不办公" in saturday.answer
    assert taoxi.hours in bot.reply("你们几点下班", place="yc-taoxi").answer
    assert taoxi.address in bot.reply("这里在哪，怎么走", place="yc-taoxi").answer
    assert taoxi.phone in bot.reply("你们电话多少", place="yc-taoxi").answer


def test_a_hall_open_on_saturday_says_so_and_never_borrows_another_places_hours(bot):
    centre = bot.reply("周六开门吗", place="yc-center")
    assert "周六 9:00-12:00" in centre.answer and "不办公" not in centre.answer
    assert "9:00-12:00" not in bot.reply("周六开门吗", place="yc-taoxi").answer


def test_an_item_question_at_a_place_is_still_about_the_item(bot):
    reply = bot.reply("身份证丢了怎么补办", place="yc-taoxi")
    assert reply.sources[0].id == "990100-GA-0003" and "本点（桃溪镇便民服务中心）不办理" in reply.answer


def _expected_here(records: list[dict], place_id: str, locations: set[str]) -> bool:
    """From the places file itself: the place, everything inside it, and — for a zone or window —
    the hall it stands in."""
    by_id = {r["id"]: r for r in records}
    inside = {place_id}
    grew = True
    while grew:
        more = {r["id"] for r in records if r.get("parent") in inside} - inside
        inside |= more
        grew = bool(more)
    up, current = set(), by_id[place_id]
    while current["kind"] in ("zone", "window") and current.get("parent"):
        current = by_id[current["parent"]]
        up.add(current["id"])
    return bool(locations & (inside | up))


def test_here_or_not_is_right_for_every_demo_place_and_item(bot, demo_kb):
    records = yaml.safe_load((demo_dir() / "places.yaml").read_text(encoding="utf-8"))["places"]
    catalog = ServiceCatalog(SourceStore(demo_kb.paths.root.parents[1], "demo"), bot.directory)
    guides = [s for s in demo_kb.sources().values() if s.guide is not None]
    checked = partly = 0
    for record in records:
        place = bot.directory.get(record["id"])
        listed = {g.id for g in catalog.items_at(place.id)}
        for source in guides:
            note = bot._place_note(source, place)
            here = _expected_here(records, place.id, set(source.guide.locations))
            parts_here = [
                part.title
                for part in map(demo_kb.get, source.guide.bundle)
                if _expected_here(records, place.id, set(part.guide.locations))
            ]
            if here or not parts_here:
                assert note.startswith(f"本点（{place.name}）可以办理") is here, (place.id, source.id, note)
            else:  # a bundle taken elsewhere, some of whose items are taken here
                assert note.startswith(f"本点（{place.name}）可以办理其中的{'、'.join(parts_here)}；"), note
                partly += 1
            assert source.id not in listed or here  # what the place's page lists, it handles
            checked += 1
    assert checked == len(records) * len(guides) and len(records) >= 20 and partly > 0


def test_a_bundle_taken_elsewhere_names_its_items_taken_here(bot):
    reply = bot.reply("开个小饭馆要办啥证", place="yc-taoxi")
    assert reply.sources[0].id == "990100-SCJG-0009"  # 开办餐饮店一件事
    assert reply.summary.startswith("本点（桃溪镇便民服务中心）可以办理其中的个体工商户设立登记")
    assert "“开办餐饮店一件事”合并办理请到" in reply.answer
