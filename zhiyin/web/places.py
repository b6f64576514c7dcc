"""The doorplate's HTTP surface: places API, the phone page a plate opens, guide pages, the kiosk.

Routes are thin: they verify, look up, and render a template; the catalog and registry decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from doorplate.booking import BookingError, BookingService, booking_place
from doorplate.catalog import ServiceCatalog, one_time_notice
from doorplate.codes import Verdict
from doorplate.queue import QueueService
from doorplate.render import qr_svg
from halls.places import Place, distance_km
from zhiyin.web.deps import (
    AsksDep,
    BookingsDep,
    CatalogDep,
    PlatesDep,
    PublicUrlDep,
    QueueDep,
    ServicesDep,
    SessionsDep,
)
from zhiyin.web.pages import ELDER_COOKIE, PLACE_ID, render_page

router = APIRouter()


def _place_or_404(cat: ServiceCatalog, place_id: str) -> Place:
    place = cat.directory.get(place_id)
    if place is None:
        raise HTTPException(404, f"no place {place_id}")
    return place


# -- JSON ----------------------------------------------------------------------------------------
@router.get("/api/places")
def list_places(cat: CatalogDep) -> list[dict]:
    """Every place with the item ids handled there (or anywhere inside it)."""
    return [cat.place_summary(p) for p in cat.directory.places]


@router.get("/api/places/{place_id}")
def get_place(place_id: str, cat: CatalogDep) -> dict:
    return cat.place_summary(_place_or_404(cat, place_id))


# -- the phone page ------------------------------------------------------------------------------
@router.get("/p/{code}", response_class=HTMLResponse)
def phone_page(
    request: Request,
    code: str,
    cat: CatalogDep,
    plates: PlatesDep,
    sessions: SessionsDep,
    root: ServicesDep,  # its assistant only when a question is asked: the page needs no model
    q: str = Query("", max_length=100, description="filter the items by name"),
    session: str | None = Query(None, max_length=64, pattern=r"^[0-9a-f-]+$"),
    ask: str = Query("", max_length=1000, description="a question, when the page is used without JavaScript"),
) -> HTMLResponse:
    verdict = plates.verify(code[:40])
    place = cat.directory.get(verdict.place_id) if verdict.ok else None
    if verdict.ok and place is None:  # issued for a place since removed from the places file
        verdict = Verdict(verdict.code, "unknown", verdict.place_id)
    if not request.query_params:  # a scan opens the bare url; searching and asking are not scans
        plates.record_scan(verdict)
    if place is None:
        return render_page(request, "warning.html", status=404)
    latest = None  # the reply to this request's question: shown summary first
    if ask.strip():
        session, latest, _ = root.chat.chat(ask, session, place.id)
    history = sessions.history(session) if session else []
    return render_page(
        request,
        "place.html",
        place=place,
        code=verdict.code,
        parent=cat.directory.get(place.parent),
        children=cat.directory.children(place.id),
        themes=cat.themes_at(place.id, q),
        q=q,
        online=[g for g in cat.items_at(place.id) if g.online_url][:6],
        nearby=cat.directory.nearby(place)[:8],
        distance_km=distance_km,
        session=session if history else None,
        history=history,
        latest=latest if latest is not None and latest.summary and latest.blocks else None,
        booking_hall=booking_place(cat.directory, place.id),
    )


@router.get("/g/{guide_id}", response_class=HTMLResponse)
def guide_page(
    request: Request,
    guide_id: str,
    cat: CatalogDep,
    plates: PlatesDep,
    bookings: BookingsDep,
    place: str | None = Query(None, pattern=PLACE_ID),
) -> HTMLResponse:
    guide = cat.guide(guide_id)
    if guide is None:
        raise HTTPException(404, f"no guide {guide_id}")
    here = cat.directory.get(place)
    return render_page(
        request,
        "guide.html",
        guide=guide,
        place=here,
        windows=cat.windows_for(guide, here),
        code=plates.active(here.id) if here else None,
        bookable=here is not None and _bookable(bookings, here.id, guide.id),
    )


def _bookable(bookings: BookingService, place_id: str, guide_id: str) -> bool:
    try:
        bookings.resolve(place_id, guide_id)
    except BookingError:
        return False
    return True


@router.get("/g/{guide_id}/notice.txt")
def notice_text(
    guide_id: str, cat: CatalogDep, place: str | None = Query(None, pattern=PLACE_ID)
) -> Response:
    guide = cat.guide(guide_id)
    if guide is None:
        raise HTTPException(404, f"no guide {guide_id}")
    text = one_time_notice(guide, cat.windows_for(guide, cat.directory.get(place)))
    filename = quote(f"一次性告知单-{guide.name}.txt")
    return Response(
        text,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


@router.get("/elder")
def elder_mode(on: bool = True, next: str = Query("/", max_length=300)) -> RedirectResponse:
    """长辈模式 without JavaScript: set the remembered choice and go back."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(ELDER_COOKIE, "1" if on else "0", max_age=365 * 86400, samesite="lax")
    return response


# -- the kiosk -----------------------------------------------------------------------------------
@router.get("/kiosk", response_class=HTMLResponse)
def kiosk(
    request: Request, cat: CatalogDep, asks: AsksDep, place: str = Query(..., pattern=PLACE_ID)
) -> HTMLResponse:
    hall = _place_or_404(cat, place)
    top = [g for theme in cat.themes_at(hall.id) for g in theme.guides]
    asked = asks.most_asked(cat.directory.subtree(hall.id))
    return render_page(request, "kiosk.html", place=hall, top=_top_items(top, 8, asked))


@router.get("/kiosk/continue.svg")
def continue_qr(
    cat: CatalogDep,
    plates: PlatesDep,
    public: PublicUrlDep,
    place: str = Query(..., pattern=PLACE_ID),
    session: str = Query(..., max_length=64, pattern=r"^[0-9a-f-]+$"),
) -> Response:
    """A QR that opens this place's phone page with the kiosk conversation."""
    _place_or_404(cat, place)
    url = f"{public}/p/{plates.issue(place)}?session={quote(session)}"
    return Response(qr_svg(url), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def _top_items(guides: list, n: int, most_asked: Sequence[str] = ()) -> list:
    """The items asked about most here in the last 30 days first, then one item per theme, so
    the kiosk's buttons cover the hall's range."""
    by_id = {g.id: g for g in guides}
    picked = [by_id[i] for i in most_asked if i in by_id][: n // 2]  # half the buttons: room for the range
    seen = {g.category for g in picked}
    for g in guides:
        if g.category not in seen and g not in picked:
            picked.append(g)
            seen.add(g.category)
    picked += [g for g in guides if g not in picked]
    return picked[:n]


# -- the hall screen and the clerk's page (取号叫号) -----------------------------------------------
WEEKDAY_ZH = "一二三四五六日"
QUEUE_PAGE_HEADERS = {"Cache-Control": "no-store"}  # the clerk's page holds a token (CSP: zhiyin.web.headers)


def _hallrender_page(
    request: Request, cat: ServiceCatalog, queue: QueueService, template: str, place_id: str, build
) -> HTMLResponse:
    """A page about a hall's queue: ``build(hall, config)`` gives its context. An unknown place is a 404
    page, a place without appointments and queue numbers a plain message (also 404)."""
    from doorplate.booking import BookingError as NoQueue

    here = cat.directory.get(place_id)
    if here is None:
        response = render_page(
            request,
            template,
            status=404,
            place=None,
            problem="没有这个场所",
            detail=f"编号 {place_id} 未登记，请核对地址。",
        )
    else:
        try:
            hall, config = queue.hall(place_id)
        except NoQueue:
            response = render_page(
                request,
                template,
                status=404,
                place=here,
                problem=f"{here.name}未开通取号叫号",
                detail="本场所不提供预约和排队叫号，请直接到窗口办理。",
            )
        else:
            response = render_page(request, template, place=hall, problem=None, **build(hall, config))
    response.headers.update(QUEUE_PAGE_HEADERS)
    return response


@router.get("/screen", response_class=HTMLResponse)
def hall_screen(
    request: Request, cat: CatalogDep, queue: QueueDep, place: str = Query(..., pattern=PLACE_ID)
) -> HTMLResponse:
    """The hall display: the number called now and its window, recent calls, waiting per group, a clock.
    Rendered with the current state; the page then follows ``/api/places/{id}/queue/events``."""
    from zhiyin.web.booking import queue_json

    def build(hall: Place, config) -> dict:
        status = queue.status(hall.id)
        now = status.time
        return {
            "q": queue_json(status),
            "today": f"{now.year}年{now.month}月{now.day}日 星期{WEEKDAY_ZH[now.weekday()]}",
            "clock": f"{now:%H:%M}",
        }

    return _hallrender_page(request, cat, queue, "screen.html", place, build)


@router.get("/staff", response_class=HTMLResponse)
def staff_desk(
    request: Request,
    cat: CatalogDep,
    queue: QueueDep,
    bookings: BookingsDep,
    place: str = Query(..., pattern=PLACE_ID),
) -> HTMLResponse:
    """The clerk's page at a window PC: call next, call again, done, no-show, the waiting board and the
    day's bookings. It carries only the hall's public set-up; every ticket and booking comes from the
    staff endpoints with the clerk's token."""

    def build(hall: Place, config) -> dict:
        windows = list(dict.fromkeys(w for g in config.groups for w in g.windows))
        items = {g.id: g.name for g, _ in bookings.bookable_items(hall.id)}
        return {"groups": config.groups, "windows": windows, "items": items}

    return _hallrender_page(request, cat, queue, "staff.html", place, build)
