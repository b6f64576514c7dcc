"""What an administrator does over HTTP, with the admin token (``ZHIYIN_ADMIN_TOKEN``): revoke and
re-issue a plate, add, list and revoke clerks' tokens, purge old visits. The same use-cases as the
CLI (``zhiyin.usecases``); the admin console (issue 18) builds its pages on these."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, Field

from zhiyin import usecases
from zhiyin.web.deps import AdminDep, CatalogDep, ServicesDep

router = APIRouter(prefix="/api/admin", tags=["admin"])
PLACE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
WINDOW = r"^[A-Za-z0-9-]{1,16}$"


class RevokeIn(BaseModel):
    reissue: bool = False


class RevokeOut(BaseModel):
    place: str
    revoked: list[str]
    issued: str | None


@router.post("/plates/{place_id}/revoke", response_model=RevokeOut)
def revoke_plate(
    body: RevokeIn, _: AdminDep, root: ServicesDep, cat: CatalogDep, place_id: str = Path(pattern=PLACE_ID)
) -> RevokeOut:
    """Revoke the place's plate (its printed sticker then shows the fraud warning); ``reissue``: a
    new code at once, to export and print."""
    if place_id not in cat.directory:
        raise HTTPException(404, {"error": "place", "message": f"没有这个地点。No place {place_id}."})
    revoked, issued = usecases.revoke_plate(root, place_id, body.reissue)
    if not revoked and not body.reissue:
        raise HTTPException(404, {"error": "no_plate", "message": f"{place_id} has no active plate."})
    return RevokeOut(place=place_id, revoked=revoked, issued=issued)


class ClerkIn(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    place: str | None = Field(None, pattern=PLACE_ID)
    window: str | None = Field(None, pattern=WINDOW)


@router.post("/clerks", status_code=201)
def add_clerk(body: ClerkIn, _: AdminDep, root: ServicesDep) -> dict:
    """A clerk's token, shown once (only its hash is kept); 409 when the name has one already."""
    try:
        token = usecases.add_clerk(root, body.name, body.place, body.window)
    except ValueError as exc:
        raise HTTPException(409, {"error": "clerk", "message": str(exc)}) from exc
    return {"name": body.name, "place": body.place, "window": body.window, "token": token}


@router.get("/clerks")
def list_clerks(_: AdminDep, root: ServicesDep) -> list[dict]:
    return root.staff.list()


@router.delete("/clerks/{name}", status_code=204)
def revoke_clerk(_: AdminDep, root: ServicesDep, name: str = Path(max_length=40)) -> Response:
    if not usecases.revoke_clerk(root, name):
        raise HTTPException(404, {"error": "clerk", "message": f"no active token for {name}"})
    return Response(status_code=204)


class PurgeIn(BaseModel):
    days: int | None = Field(None, ge=1, le=3650)


@router.post("/purge")
def purge(body: PurgeIn, _: AdminDep, root: ServicesDep) -> dict:
    """Delete the bookings and queue tickets of days long past (the server does it every 6 hours)."""
    before, counts = usecases.purge_visits(root, body.days, root.bookings.clock())
    return {"before": before.isoformat(), "deleted": counts}
