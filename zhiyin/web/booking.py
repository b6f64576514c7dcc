"""The HTTP surface of appointments and queues. Thin: parse, call the service, shape the JSON.

Public (no token; nobody else's data): slots, booking and its owner's look-up/cancel/reschedule
(booking code + the phone's last four digits), check-in and walk-in tickets (kiosk), the queue
status and its live stream (hall screen). Staff (``Authorization: Bearer <token>``): call next,
call again, done, no-show, the day's board and bookings — names and phones masked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field

from doorplate.booking import BookingError, BookingRecord, BookingService, SlotView, clean_code
from doorplate.queue import Position, QueueService, QueueStatus, TicketRecord, announcement
from doorplate.render import qr_svg
from doorplate.staff import Staff
from zhiyin.web.deps import BookingsDep, PublicUrlDep, QueueDep, StaffDep
from zhiyin.web.limits import RowId

router = APIRouter()
PLACE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
WINDOW = r"^[A-Za-z0-9\u4e00-\u9fff_-]{1,16}$"
STREAM_POLL_SECONDS = 0.5  # how often an open stream checks the hall's queue version (one-row read)
STREAM_KEEPALIVE_SECONDS = 15


def booking_error(request: Request, exc: BookingError) -> JSONResponse:
    """Every refusal as {"detail": {"error": code, "message": "中文。English."}} with its status."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return JSONResponse(
        {"detail": {"error": exc.error, "message": exc.message}}, status_code=exc.status, headers=headers
    )


def minute(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M") if moment else None


def second(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else None


# -- response shapes -----------------------------------------------------------------------------
class SlotOut(BaseModel):
    slot: str = Field(examples=["2026-11-24T09:00"])
    capacity: int
    free: int


class BookingOut(BaseModel):
    code: str
    status: Literal["booked", "checked_in", "cancelled"]
    place: str
    place_name: str
    item: str
    item_name: str
    group: str
    group_label: str
    slot: str
    slot_end: str
    name: str = Field(description="masked: 张*三")
    phone: str = Field(description="masked: 138****5678")
    id_last4: str | None
    created: str
    replaced_by: str | None = Field(None, description="after a reschedule: the new booking's code")
    checkin_url: str = Field(description="what the check-in QR encodes; the kiosk reads the code from it")
    qr_svg: str = Field(description="the check-in QR as SVG")


class BookingInfoOut(BaseModel):
    place: str
    booking_place: str
    booking_place_name: str
    slot_minutes: int
    days_ahead: int
    dates: list[str]
    groups: list[dict]
    items: list[dict]


class TicketOut(BaseModel):
    id: int
    ticket: str = Field(examples=["A001"])
    place: str
    group: str
    group_label: str
    kind: Literal["green", "booked", "walk_in"]
    status: Literal["waiting", "called", "done", "no_show"]
    window: str | None
    issued: str
    ahead: int | None = None
    wait_minutes: int | None = None
    late: bool = False


def booking_out(public: str, service: BookingService, record: BookingRecord) -> BookingOut:
    place = service.catalog.directory.get(record.place_id)
    guide = service.catalog.guide(record.item_id)
    group = place.booking.group(record.group_letter) if place and place.booking else None
    return BookingOut(
        code=record.code,
        status=record.status,  # type: ignore[arg-type]
        place=record.place_id,
        place_name=place.name if place else record.place_id,
        item=record.item_id,
        item_name=guide.name if guide else record.item_id,
        group=record.group_letter,
        group_label=group.label if group else record.group_letter,
        slot=minute(record.slot),
        slot_end=minute(service.slot_end(record)),
        name=record.name_masked,
        phone=record.phone_masked,
        id_last4=record.id_last4,
        created=second(record.created),
        replaced_by=record.replaced_by,
        checkin_url=f"{public}/b/{record.code}",
        qr_svg=f"/api/bookings/{record.code}/qr.svg",
    )


def ticket_out(
    service: QueueService, ticket: TicketRecord, position: Position | None = None, late: bool = False
):
    _, config = service.hall(ticket.place_id)
    group = config.group(ticket.group_letter)
    return TicketOut(
        id=ticket.id,
        ticket=ticket.label,
        place=ticket.place_id,
        group=ticket.group_letter,
        group_label=group.label if group else ticket.group_letter,
        kind=ticket.kind,  # type: ignore[arg-type]
        status=ticket.status,  # type: ignore[arg-type]
        window=ticket.window,
        issued=second(ticket.issued),
        ahead=position.ahead if position else None,
        wait_minutes=position.wait_minutes if position else None,
        late=late,
    )


def queue_json(status: QueueStatus) -> dict:
    return {
        "place": status.place.id,
        "name": status.place.name,
        "version": status.version,
        "time": second(status.time),
        "calls": [
            {
                "ticket": t.label,
                "group": t.group_letter,
                "window": t.window,
                "status": t.status,
                "calls": t.calls,
                "called_at": second(t.last_called),
                "announcement": announcement(t),
            }
            for t in status.calls
        ],
        "groups": [
            {"letter": g.letter, "label": g.label, "waiting": g.waiting, "wait_minutes": g.wait_minutes}
            for g in status.groups
        ],
    }


# -- booking (public) ----------------------------------------------------------------------------
def _no_lone_surrogates(value: Any) -> Any:
    """A lone surrogate ("\\ud800" is valid JSON, not valid text) fails pydantic's string check with
    an error that echoes the whole field — a phone, an ID number — into the 422 (which then cannot be
    encoded: a 500 whose traceback is logged). Replaced by U+FFFD, it fails the booking's own check,
    whose message names no input."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


PersonalText = Annotated[str, BeforeValidator(_no_lone_surrogates)]


class BookingIn(BaseModel):
    place: str = Field(pattern=PLACE_ID)
    item: str = Field(min_length=1, max_length=64)
    slot: dt.datetime = Field(description="the slot's start, hall time: 2026-11-24T09:00")
    name: PersonalText = Field(min_length=1, max_length=30)
    phone: PersonalText = Field(
        min_length=11,
        max_length=20,
        description="a mainland mobile: 13812345678, 138 1234 5678, +86 138-1234-5678, full-width digits",
    )
    id_number: PersonalText | None = Field(None, max_length=24)
    idempotency_key: str | None = Field(None, max_length=64, description="or the Idempotency-Key header")


class OwnerIn(BaseModel):
    last4: PersonalText = Field(pattern=r"^\d{4}$", description="the last four digits of the booking's phone")


class RescheduleIn(OwnerIn):
    slot: dt.datetime
    item: str | None = Field(None, max_length=64, description="another item of the same place, optionally")


@router.get("/api/places/{place_id}/booking", response_model=BookingInfoOut)
def booking_info(place_id: str, service: BookingsDep) -> BookingInfoOut:
    """What can be booked at a place (a zone or window answers with its hall's bookings)."""
    place, hall = service.place(place_id)
    assert hall.booking is not None
    return BookingInfoOut(
        place=place.id,
        booking_place=hall.id,
        booking_place_name=hall.name,
        slot_minutes=hall.booking.slot_minutes,
        days_ahead=hall.booking.days_ahead,
        dates=[d.isoformat() for d in service.open_days(place_id)],
        groups=[{"letter": g.letter, "label": g.label} for g in hall.booking.groups],
        items=[
            {"id": g.id, "name": g.name, "group": grp.letter} for g, grp in service.bookable_items(place_id)
        ],
    )


@router.get("/api/places/{place_id}/slots", response_model=list[SlotOut])
def list_slots(
    place_id: str,
    service: BookingsDep,
    item: str = Query(..., min_length=1, max_length=64),
    date: Annotated[
        dt.date | None, Query(description="YYYY-MM-DD; default: the first day with free slots")
    ] = None,
) -> list[SlotOut]:
    day = date or next(iter(service.open_days(place_id, item)), None)
    slots: list[SlotView] = service.slots(place_id, item, day) if day else []
    return [SlotOut(slot=minute(s.slot), capacity=s.capacity, free=s.free) for s in slots]


@router.post("/api/bookings", response_model=BookingOut, status_code=201)
def create_booking(
    body: BookingIn,
    public: PublicUrlDep,
    response: Response,
    service: BookingsDep,
    idempotency_key: str | None = Header(None, max_length=64),
) -> BookingOut:
    """201 with the booking; 409 when the slot is full; 422 when a rule says no. Send an
    Idempotency-Key (header or field) to retry safely after a timeout: the retry gets the same booking."""
    record, replayed = service.book(
        body.place,
        body.item,
        body.slot,
        body.name,
        body.phone,
        body.id_number,
        idempotency_key or body.idempotency_key,
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return booking_out(public, service, record)


@router.get("/api/bookings/{code}", response_model=BookingOut)
def get_booking(
    code: str, public: PublicUrlDep, service: BookingsDep, last4: str = Query(..., pattern=r"^\d{4}$")
) -> BookingOut:
    return booking_out(public, service, service.lookup(code, last4))


@router.post("/api/bookings/{code}/cancel", response_model=BookingOut)
def cancel_booking(code: str, body: OwnerIn, public: PublicUrlDep, service: BookingsDep) -> BookingOut:
    return booking_out(public, service, service.cancel(code, body.last4))


@router.post("/api/bookings/{code}/reschedule", response_model=BookingOut, status_code=201)
def reschedule_booking(
    code: str, body: RescheduleIn, public: PublicUrlDep, service: BookingsDep
) -> BookingOut:
    """Cancel and book in one transaction: the new booking (new code), or the old one kept on error."""
    return booking_out(public, service, service.reschedule(code, body.last4, body.slot, body.item))


@router.get("/api/bookings/{code}/qr.svg")
def booking_qr(code: str, public: PublicUrlDep) -> Response:
    """The check-in QR. It holds only the code, so it is drawn without looking anything up."""
    cleaned = clean_code(code)
    if cleaned is None:
        raise HTTPException(404, "not a booking code")
    svg = qr_svg(f"{public}/b/{cleaned}")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=86400"})


# -- queue (public: kiosk and hall screen) -------------------------------------------------------
class CheckInIn(BaseModel):
    code: str = Field(
        min_length=4, max_length=80, description="the booking code, or the scanned check-in URL"
    )
    place: str | None = Field(
        None, pattern=PLACE_ID, description="the kiosk's place: refuses other halls' bookings"
    )


class WalkInIn(BaseModel):
    item: str | None = Field(None, max_length=64)
    group: str | None = Field(None, pattern=r"^[A-Za-z]$")
    green: bool = Field(False, description="绿色通道: elderly or disabled visitors are called first")


def _code_of(scanned: str) -> str:
    """A scanner gives the whole check-in URL; the code is its last segment."""
    return scanned.strip().rstrip("/").rsplit("/", 1)[-1]


@router.post("/api/checkin", response_model=TicketOut, status_code=201)
def check_in(body: CheckInIn, service: QueueDep) -> TicketOut:
    ticket, late = service.check_in(_code_of(body.code), place_id=body.place)
    return ticket_out(service, ticket, service.position(ticket.id), late)


@router.post("/api/places/{place_id}/tickets", response_model=TicketOut, status_code=201)
def walk_in(place_id: str, body: WalkInIn, service: QueueDep) -> TicketOut:
    ticket = service.issue(place_id, item_id=body.item, group=body.group, green=body.green)
    return ticket_out(service, ticket, service.position(ticket.id))


@router.get("/api/places/{place_id}/tickets/{label}", response_model=TicketOut)
def ticket_position(place_id: str, label: str, service: QueueDep) -> TicketOut:
    """A visitor's own number today: status, how many are ahead, the estimated wait."""
    ticket = service.find(place_id, label[:8])
    return ticket_out(service, ticket, service.position(ticket.id))


@router.get("/api/places/{place_id}/queue")
def queue_status(place_id: str, request: Request, service: QueueDep) -> Response:
    """The hall screen's data: latest calls (number, window, words to read aloud) and waiting
    counts with estimated waits. Poll with If-None-Match: 304 until the queue changes."""
    etag = f'W/"q{service.version(place_id)}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    body = queue_json(service.status(place_id))
    return JSONResponse(body, headers={"ETag": f'W/"q{body["version"]}"', "Cache-Control": "no-cache"})


@router.get("/api/places/{place_id}/queue/events")
async def queue_events(
    place_id: str,
    request: Request,
    service: QueueDep,
    max_seconds: float = Query(
        600, ge=1, le=3600, description="the stream ends after this; EventSource reconnects"
    ),
) -> StreamingResponse:
    """Server-sent events: an ``event: queue`` with the same JSON as ``/queue`` at once and after
    every change (a call, a recall, a new ticket), and a comment line every 15 s to keep it open."""
    await run_in_threadpool(service.hall, place_id)  # 404 before the stream starts

    async def events():
        yield "retry: 2000\n\n"
        started = last_sent = time.monotonic()
        sent_version = None
        while time.monotonic() - started < max_seconds and not await request.is_disconnected():
            version = await run_in_threadpool(service.version, place_id)
            if version != sent_version:
                status = await run_in_threadpool(service.status, place_id)
                sent_version = status.version
                data = json.dumps(queue_json(status), ensure_ascii=False)
                yield f"id: {sent_version}\nevent: queue\ndata: {data}\n\n"
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent > STREAM_KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -- staff ---------------------------------------------------------------------------------------
def _forbidden(message: str) -> HTTPException:
    return HTTPException(403, {"error": "forbidden", "message": message})


def _hall_for(staff: Staff, service: QueueService, place_id: str) -> str:
    hall, _ = service.hall(place_id)
    if not staff.may_act_at(hall.id):
        raise _forbidden("该令牌不能操作此大厅。This token is for another hall.")
    return hall.id


def _window_for(staff: Staff, window: str | None) -> str | None:
    """The window a ticket action is limited to: a clerk bound to a window acts only there."""
    if window is not None and not staff.may_call_to(window):
        raise _forbidden("该令牌只能在本窗口操作。This token is for another window.")
    return window if window is not None else staff.window


class StaffCheckInIn(BaseModel):
    code: str = Field(min_length=4, max_length=80)
    green: bool = False


class CallNextIn(BaseModel):
    window: str = Field(pattern=WINDOW)
    groups: list[str] | None = Field(
        None, description="ticket letters; default: the groups this window serves"
    )


class TicketActionIn(BaseModel):
    window: str | None = Field(None, pattern=WINDOW)


@router.post("/api/staff/checkin", response_model=TicketOut, status_code=201)
def staff_check_in(body: StaffCheckInIn, staff: StaffDep, service: QueueDep) -> TicketOut:
    """A clerk checks a booked visitor in (and may put them on the 绿色通道)."""
    ticket, late = service.check_in(_code_of(body.code), place_id=staff.place_id, green=body.green)
    return ticket_out(service, ticket, service.position(ticket.id), late)


@router.post("/api/staff/places/{place_id}/tickets", response_model=TicketOut, status_code=201)
def staff_walk_in(place_id: str, body: WalkInIn, staff: StaffDep, service: QueueDep) -> TicketOut:
    _hall_for(staff, service, place_id)
    ticket = service.issue(place_id, item_id=body.item, group=body.group, green=body.green)
    return ticket_out(service, ticket, service.position(ticket.id))


@router.post("/api/staff/places/{place_id}/call-next")
def call_next(place_id: str, body: CallNextIn, staff: StaffDep, service: QueueDep) -> dict:
    """{"ticket": the called ticket, or null when nobody waits}; the window's previous visitor is done."""
    _hall_for(staff, service, place_id)
    if not staff.may_call_to(body.window):
        raise _forbidden("该令牌只能在本窗口叫号。This token calls to another window.")
    groups = [g.upper() for g in body.groups] if body.groups else None
    ticket = service.call_next(place_id, body.window, groups)
    return {"ticket": ticket_out(service, ticket).model_dump() if ticket else None}


def _ticket_action(
    ticket_id: int, body: TicketActionIn | None, staff: Staff, service: QueueService, action: str
) -> TicketOut:
    ticket = service.ticket(ticket_id)
    _hall_for(staff, service, ticket.place_id)
    window = _window_for(staff, body.window if body else None)
    if action == "recall":
        changed = service.recall(ticket_id, window)
    else:
        changed = service.finish(ticket_id, "done" if action == "done" else "no_show", window)
    return ticket_out(service, changed)


@router.post("/api/staff/tickets/{ticket_id}/recall", response_model=TicketOut)
def recall(
    ticket_id: RowId, staff: StaffDep, service: QueueDep, body: TicketActionIn | None = None
) -> TicketOut:
    return _ticket_action(ticket_id, body, staff, service, "recall")


@router.post("/api/staff/tickets/{ticket_id}/done", response_model=TicketOut)
def done(
    ticket_id: RowId, staff: StaffDep, service: QueueDep, body: TicketActionIn | None = None
) -> TicketOut:
    return _ticket_action(ticket_id, body, staff, service, "done")


@router.post("/api/staff/tickets/{ticket_id}/no-show", response_model=TicketOut)
def no_show(
    ticket_id: RowId, staff: StaffDep, service: QueueDep, body: TicketActionIn | None = None
) -> TicketOut:
    return _ticket_action(ticket_id, body, staff, service, "no_show")


@router.get("/api/staff/places/{place_id}/queue")
def staff_board(place_id: str, staff: StaffDep, service: QueueDep) -> list[dict]:
    """Today's waiting and called tickets; a booked visitor's name and phone are masked."""
    _hall_for(staff, service, place_id)
    rows = []
    for ticket, extra in service.board(place_id):
        position = service.position(ticket.id) if ticket.status == "waiting" else None
        rows.append(
            {
                **ticket_out(service, ticket, position).model_dump(),
                "booking_code": ticket.booking_code,
                "slot": minute(extra.slot),
                "name": extra.name_masked,
                "phone": extra.phone_masked,
            }
        )
    return rows


@router.get("/api/staff/places/{place_id}/bookings")
def staff_bookings(
    place_id: str,
    staff: StaffDep,
    service: BookingsDep,
    queue_service: QueueDep,
    date: Annotated[dt.date | None, Query(description="YYYY-MM-DD; default today")] = None,
) -> list[dict]:
    """A day's bookings, masked: 张*三, 138****5678, ID ****1234."""
    _hall_for(staff, queue_service, place_id)
    day = date or queue_service.now.date()
    return [
        {
            "code": r.code,
            "status": r.status,
            "item": r.item_id,
            "group": r.group_letter,
            "slot": minute(r.slot),
            "name": r.name_masked,
            "phone": r.phone_masked,
            "id_last4": r.id_last4,
        }
        for r in service.bookings_at(place_id, day)
    ]
