"""The HTTP app factory: the services root, the guards in front of every route, the routers. No
business logic: routes live in ``zhiyin/web/``, one module per resource."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from doorplate.booking import BookingError
from knowledge import EmbeddingModelError, KnowledgeBaseError
from zhiyin import __version__
from zhiyin.services import Services
from zhiyin.usecases import purge_visits
from zhiyin.web import admin, booking, booking_pages, chat, places, search
from zhiyin.web.headers import SecurityHeaders
from zhiyin.web.limits import RequestBodyGuard, rate_limited, validation_failed
from zhiyin.web.pages import error_page, wants_page

log = logging.getLogger("zhiyin")
PURGE_EVERY_SECONDS = 6 * 3600  # old bookings and tickets go within a quarter of a day


def create_app(services: Services | None = None) -> FastAPI:
    services = services or Services()
    settings = services.settings
    services.prepare()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the first citizen should not wait ~5 s for the model and the index to load
        try:
            services.assistant.warm_up()
        except (KnowledgeBaseError, EmbeddingModelError) as exc:
            log.warning("not ready yet: %s", exc)  # /api/chat answers 503 with the same message
        purging = asyncio.create_task(purge_regularly())
        yield
        purging.cancel()

    async def purge_regularly() -> None:
        while True:
            try:
                now = services.bookings.clock()
                # the other servers' loops skip a pass while one purges (an advisory lock)
                before, counts = await asyncio.to_thread(purge_visits, services, None, now, False)
                if any(counts.values()):
                    log.info("deleted the bookings and tickets of days before %s: %s", before, counts)
            except Exception:  # a database hiccup must not end the loop
                log.exception("purging old bookings failed")
            await asyncio.sleep(PURGE_EVERY_SECONDS)

    app = FastAPI(
        title="智引 Zhiyin",
        version=__version__,
        description="Government-service guidance, offline by default.",
        lifespan=lifespan,
        docs_url=None,  # zhiyin.web.search serves /docs without an inline script
        redoc_url=None,
    )
    app.state.services = services  # the one thing routes reach, through zhiyin.web.deps
    limiter = services.rate_limiter

    @app.middleware("http")
    async def guard_requests(request: Request, call_next):
        if rate_limited(request):
            client = request.client.host if request.client else "unknown"
            wait = await run_in_threadpool(limiter.retry_after, client)  # a database round trip
            if wait:
                return JSONResponse(
                    {"detail": "too many requests, please slow down"},
                    status_code=429,
                    headers={"Retry-After": str(wait)},
                )
        try:
            return await call_next(request)
        except Exception:  # never a stack trace to a client
            log.exception("unhandled error on %s", request.url.path)
            return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(KnowledgeBaseError)
    @app.exception_handler(EmbeddingModelError)
    async def not_ready(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_page(request):  # a browser gets a Chinese page, never raw JSON
            return error_page(request, exc.status_code)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(BookingError, booking.booking_error)
    app.add_exception_handler(RequestValidationError, validation_failed)
    for module in (search, chat, places, booking, booking_pages, admin):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(files("zhiyin.web") / "static")), name="static")
    app.add_middleware(RequestBodyGuard, max_bytes=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)  # every response, a 413, 429 or 500 too
    if settings.forwarded_allow_ips:  # outside the guards, so the rate limit counts the real client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    return app
