"""Questions a visitor asks about the place itself — its hours, Saturday, lunch break, address, the
way there, its phone — at a doorplate or kiosk. They are answered from that place's own record
(``halls.places``), never from a guide or another place's FAQ: "周六开门吗" at 桃溪镇 is not the city
centre's "周六上午9:00-12:00"."""

from __future__ import annotations

from assistant.data_files import read_yaml
from assistant.thresholds import PLACE_QUESTION_RESIDUAL
from assistant.understanding import Understanding
from halls.places import Place, PlaceDirectory


def about_the_place(u: Understanding, object_words: tuple[str, ...]) -> bool:
    """Whether the question asks about the place itself: an aspect of a place, asked outright,
    naming no item (no object word, almost nothing left besides aspect words and fillers)."""
    return (
        u.language == "zh"
        and u.aspect_explicit
        and u.aspect in read_yaml("place_questions.yaml")["aspects"]
        and not object_words
        and len(u.residual) <= PLACE_QUESTION_RESIDUAL
    )


def answer_about(place: Place, directory: PlaceDirectory, aspect: str, question: str) -> str:
    """The place's own answer to an hours, location or phone question."""
    hall = next((p for p in directory.ancestors(place.id) if place.kind in ("zone", "window")), None)
    where = f"{place.name}（{hall.name}）" if hall and not place.name.startswith(hall.name) else place.name
    if aspect == "phone":
        phone = place.phone or (hall.phone if hall else None)
        return f"{where}咨询电话：{phone}。" if phone else f"{where}未登记电话，请拨打12345政务服务热线。"
    if aspect == "location":
        address = place.address or (hall.address if hall else None)
        text = f"{where}地址：{address}。" if address else f"{where}未登记地址，请拨打12345政务服务热线。"
        return text + "路线可点本页的“导航”查看。"
    hours = place.hours or (hall.hours if hall else None)
    if not hours:
        return f"{where}未登记办公时间，请拨打12345政务服务热线。"
    text = f"{where}办公时间：{hours}。"
    weekend = read_yaml("place_questions.yaml")["weekend"]
    if any(w in question for w in weekend) and not any(w in hours for w in weekend):
        text += "周六、周日不办公。"
    return text
