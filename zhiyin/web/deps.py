"""What a route may ask for: the services root and each service in it, as typed dependencies.

    @router.post("/api/bookings")
    def create_booking(body: BookingIn, bookings: BookingsDep) -> BookingOut: ...

Routes take their services from here, never from ``app.state`` (which holds only ``services``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from assistant.chat import ChatService
from assistant.sessions import SessionStore
from doorplate.booking import BookingService
from doorplate.catalog import ServiceCatalog
from doorplate.codes import PlateRegistry
from doorplate.queue import QueueService
from doorplate.staff import Staff, StaffDirectory
from halls.asks import AskCounts
from zhiyin.services import Services


def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]


def public_url(root: ServicesDep) -> str:
    """Where phones reach this server (``ZHIYIN_PUBLIC_URL``, no trailing slash)."""
    return root.public_url


PublicUrlDep = Annotated[str, Depends(public_url)]


def chat(root: ServicesDep) -> ChatService:
    """The assistant with its conversations; EmbeddingModelError / KnowledgeBaseError (503) when
    the model or the index is missing."""
    return root.chat


def sessions(root: ServicesDep) -> SessionStore:
    return root.sessions


def catalog(root: ServicesDep) -> ServiceCatalog:
    return root.catalog


def plates(root: ServicesDep) -> PlateRegistry:
    return root.plates


def bookings(root: ServicesDep) -> BookingService:
    return root.bookings


def queue(root: ServicesDep) -> QueueService:
    return root.queue


def asks(root: ServicesDep) -> AskCounts:
    return root.asks


def staff_directory(root: ServicesDep) -> StaffDirectory:
    return root.staff


ChatDep = Annotated[ChatService, Depends(chat)]
SessionsDep = Annotated[SessionStore, Depends(sessions)]
CatalogDep = Annotated[ServiceCatalog, Depends(catalog)]
PlatesDep = Annotated[PlateRegistry, Depends(plates)]
BookingsDep = Annotated[BookingService, Depends(bookings)]
QueueDep = Annotated[QueueService, Depends(queue)]
AsksDep = Annotated[AskCounts, Depends(asks)]
StaffDirectoryDep = Annotated[StaffDirectory, Depends(staff_directory)]


def staff_member(directory: StaffDirectoryDep, authorization: str | None = Header(None)) -> Staff:
    """The clerk (or the admin) the request's bearer token names; 401 without a valid one."""
    token = None
    if authorization and authorization[:7].lower() == "bearer ":
        token = authorization[7:].strip()
    member = directory.identify(token)
    if member is None:
        raise HTTPException(
            401,
            {"error": "unauthorized", "message": "需要工作人员令牌。A staff token is required."},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return member


StaffDep = Annotated[Staff, Depends(staff_member)]


def admin(member: StaffDep) -> Staff:
    """Only the admin token (``ZHIYIN_ADMIN_TOKEN``); a clerk's token gets 403."""
    if not member.admin:
        raise HTTPException(
            403, {"error": "forbidden", "message": "需要管理员令牌。This needs the admin token."}
        )
    return member


AdminDep = Annotated[Staff, Depends(admin)]
