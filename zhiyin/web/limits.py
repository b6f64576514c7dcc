"""The guards in front of every route: the request body (its size, counted as it arrives, and its
text), which requests the per-client rate limit counts (``halls.rates``), and what a 422 may echo back."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# an id or count the database stores as a signed 64-bit integer: a larger one is a 422, not an overflow
DB_INT_MAX = 2**63 - 1
RowId = Annotated[int, Ge(1), Le(DB_INT_MAX)]
ECHO_CHARS = 100  # a 422 shows at most this much of each wrong input

LIMITED_PATHS = ("/api/chat", "/v1/", "/api/feedback")
# public writes that anyone can script: bookings, check-ins, walk-in tickets, the booking forms
LIMITED_WRITES = re.compile(r"^/(?:api/bookings|api/checkin|api/places/[^/]+/tickets$|book$|b/)")


def rate_limited(request: Request) -> bool:
    path = request.url.path
    if path.startswith(LIMITED_PATHS) or "ask" in request.query_params:
        return True
    return request.method == "POST" and LIMITED_WRITES.match(path) is not None


class RequestBodyGuard:
    """Reads the request body before any route does: 413 as soon as more than ``max_bytes`` have
    arrived (a chunked body has no Content-Length to check beforehand), 400 for a JSON body with a
    lone surrogate ("\\ud800" is no character: it would fail later, in the database or a log line).
    The route then reads the body from here; the limit keeps the buffer small."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send, 413, f"request body larger than {self.max_bytes} bytes")
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(scope, send, 413, f"request body larger than {self.max_bytes} bytes")
                return
        content_type = headers.get(b"content-type", b"")
        # FastAPI reads a body without a Content-Type as JSON too
        if (not content_type or b"json" in content_type) and _lone_surrogate(body):
            await self._refuse(
                scope, send, 400, "the JSON body has a lone surrogate (\\ud800-\\udfff), not text"
            )
            return
        replayed = False

        async def receive_buffered() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # a streaming response listens for the disconnect
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, receive_buffered, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await JSONResponse({"detail": detail}, status_code=status)(scope, nothing, send)


def _lone_surrogate(body: bytes) -> bool:
    if b"\\u" not in body:
        return False
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False  # not JSON (or nested too deep to be a request): the route says so
    pending = [data]  # a loop, not recursion: the body may nest as deep as json.loads allows
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            # a valid pair decodes to one character, so any surrogate code point left is a lone one
            if any("\ud800" <= c <= "\udfff" for c in value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _echo(value: Any) -> Any:
    """An input as a 422 may show it: a short JSON value as it is, anything else as text cut to
    ECHO_CHARS (NaN and Infinity, which JSON cannot carry, as text too)."""
    try:
        text = json.dumps(jsonable_encoder(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)[:ECHO_CHARS]
    return value if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…"


async def validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 saying what was wrong and where, never the whole body back (FastAPI's own echoes it all)."""
    errors = [{**error, "input": _echo(error.get("input"))} for error in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
