"""The citizen's booking pages: choose an item, a day and a time, book, and later look the booking
up, cancel or move it. Plain forms (no JavaScript needed), usable in 长辈模式.

Each form carries an idempotency key made when it is drawn, so sending it twice (a double tap, a
retry on a slow network) books once. Look-up and changes need the booking code and the last four
digits of the phone it was booked with.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from doorplate.booking import BookingError, BookingRecord, BookingService, clean_code, normalise_phone
from zhiyin.web.deps import BookingsDep
from zhiyin.web.pages import PLACE_ID, render_page

router = APIRouter()
WEEKDAYS = "一二三四五六日"


def day_label(day: dt.date) -> str:
    return f"{day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}"


def _form_page(
    request: Request,
    service: BookingsDep,
    place: str,
    item: str | None,
    day: dt.date | None,
    reschedule: str | None = None,
    error: BookingError | None = None,
    entered: dict | None = None,
) -> HTMLResponse:
    """The booking form at whatever step the choices so far reach."""
    try:
        asked, hall = service.place(place)
    except BookingError as exc:
        return render_page(request, "book.html", status=exc.status, closed=exc.message)
    items = service.bookable_items(place)
    chosen = next((g for g, _ in items if g.id == item), None)
    days = service.open_days(place, chosen.id) if chosen else []
    if chosen and days and day not in days:
        day = days[0]
    slots = service.slots(place, chosen.id, day) if chosen and day else []
    return render_page(
        request,
        "book.html",
        status=error.status if error else 200,
        asked=asked,
        hall=hall,
        items=items,
        chosen=chosen,
        days=days,
        day=day,
        slots=slots,
        day_label=day_label,
        key=uuid.uuid4().hex,
        reschedule=reschedule,
        error=error.message if error else None,
        entered=entered or {},
    )


@router.get("/book", response_class=HTMLResponse)
def booking_form(
    request: Request,
    service: BookingsDep,
    place: str = Query(..., pattern=PLACE_ID),
    item: str | None = Query(None, max_length=64),
    date: dt.date | None = None,
    reschedule: str | None = Query(None, max_length=20),
) -> HTMLResponse:
    return _form_page(request, service, place, item, date, reschedule)


@router.post("/book", response_class=HTMLResponse)
def book(
    request: Request,
    service: BookingsDep,
    place: Annotated[str, Form(pattern=PLACE_ID)],
    item: Annotated[str, Form(max_length=64)],
    slot: Annotated[str, Form(max_length=20)] = "",
    name: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    id_number: Annotated[str, Form(max_length=24)] = "",
    key: Annotated[str, Form(max_length=64)] = "",
    reschedule: Annotated[str, Form(max_length=20)] = "",
    last4: Annotated[str, Form(max_length=4)] = "",
) -> HTMLResponse:
    day = None
    try:
        if not slot:
            raise BookingError("slot", "请选择一个时间段。")
        when = dt.datetime.fromisoformat(slot)
        day = when.date()
        if reschedule:
            record = service.reschedule(reschedule, last4, when, item)
            return _booking_page(request, service, record, last4, done="已改约，原预约已取消。")
        record, _ = service.book(place, item, when, name, phone, id_number or None, key or None)
    except (BookingError, ValueError) as exc:
        error = exc if isinstance(exc, BookingError) else BookingError("slot", "时间段无效，请重新选择。")
        entered = {"name": name, "phone": phone, "slot": slot}
        return _form_page(request, service, place, item, day, reschedule or None, error, entered)
    return _booking_page(request, service, record, normalise_phone(phone)[-4:], done="预约成功")


def _booking_page(
    request: Request,
    service: BookingService,
    record: BookingRecord,
    last4: str,
    done: str | None = None,
) -> HTMLResponse:
    place = service.catalog.directory.get(record.place_id)
    guide = service.catalog.guide(record.item_id)
    return render_page(
        request,
        "booking.html",
        record=record,
        place=place,
        guide=guide,
        last4=last4,
        done=done,
        slot_end=service.slot_end(record),
        day_label=day_label,
    )


@router.get("/b/{code}", response_class=HTMLResponse)
def booking_lookup(request: Request, code: str) -> HTMLResponse:
    """Where the booking's QR leads: the owner confirms the phone's last four digits to see it."""
    cleaned = clean_code(code)
    if cleaned is None:
        return render_page(
            request, "booking.html", status=404, record=None, code=code[:20], error="预约码格式不对。"
        )
    return render_page(request, "booking.html", record=None, code=cleaned)


@router.post("/b/{code}", response_class=HTMLResponse)
def booking_view(
    request: Request,
    code: str,
    service: BookingsDep,
    last4: Annotated[str, Form(max_length=4)],
    action: Annotated[str, Form(pattern=r"^(view|cancel)$")] = "view",
) -> HTMLResponse:
    try:
        if action == "cancel":
            record = service.cancel(code, last4)
            return _booking_page(request, service, record, last4, done="预约已取消，该时段已释放。")
        return _booking_page(request, service, service.lookup(code, last4), last4)
    except BookingError as exc:
        return render_page(
            request,
            "booking.html",
            status=exc.status,
            record=None,
            code=clean_code(code) or "",
            error=exc.message,
        )
