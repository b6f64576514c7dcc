"""The HTTP app factory: mounts each wing's routes, plus the cross-cutting guards. No business logic."""

from __future__ import annotations

import asyncio
import html
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from doorplate.booking import BookingError, BookingService
from doorplate.catalog import ServiceCatalog
from doorplate.queue import QueueService
from doorplate.retention import cutoff, purge
from doorplate.staff import StaffDirectory
from knowledge import EmbeddingModelError, Hit, KnowledgeBaseError
from zhiyin import __version__, deps
from zhiyin.db import prepare_database, shared_engine
from zhiyin.settings import Settings, get_settings

log = logging.getLogger("zhiyin")
PURGE_EVERY_SECONDS = 6 * 3600  # old bookings and tickets go within a quarter of a day
LIMITED_PATHS = ("/api/chat", "/v1/", "/api/feedback")
# public writes that anyone can script: bookings, check-ins, walk-in tickets, the booking forms
LIMITED_WRITES = re.compile(r"^/(?:api/bookings|api/checkin|api/places/[^/]+/tickets$|book$|b/)")


def rate_limited(request: Request) -> bool:
    path = request.url.path
    if path.startswith(LIMITED_PATHS) or "ask" in request.query_params:
        return True
    return request.method == "POST" and LIMITED_WRITES.match(path) is not None


class RateLimiter:
    """A sliding one-minute window of requests per client."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """0 if the request may go ahead (and count it), else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            window = self._hits.setdefault(client, deque())
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return max(1, math.ceil(60 - (now - window[0])))
            window.append(now)
            return 0


def chat_service(settings: Settings):
    from assistant.chat import ChatService
    from assistant.sessions import SessionStore

    engine = shared_engine(settings.database)
    return ChatService(
        deps.assistant(settings.kb, settings), SessionStore(engine, settings.session_ttl_minutes)
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = prepare_database(settings.database)  # the schema at the newest migration before anything runs

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the first citizen should not wait ~5 s for the model and the index to load
        try:
            app.state.chat.assistant.warm_up()
        except (KnowledgeBaseError, EmbeddingModelError) as exc:
            log.warning("not ready yet: %s", exc)  # /api/chat answers 503 with the same message
        purging = asyncio.create_task(purge_regularly(app))
        yield
        purging.cancel()

    async def purge_regularly(app: FastAPI) -> None:
        while True:
            try:
                before = cutoff(settings.booking_retention_days, app.state.bookings.clock())
                counts = await asyncio.to_thread(purge, engine, before)
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
    )
    app.state.chat = chat_service(settings)
    app.state.catalog = ServiceCatalog(
        deps.knowledge_base(settings.kb, settings), deps.place_directory(settings.kb, settings)
    )
    app.state.plates = deps.plate_registry(settings)
    app.state.public_url = settings.public_url.rstrip("/")
    app.state.bookings = BookingService(engine, app.state.catalog, settings.booking_key())
    app.state.queue = QueueService(engine, app.state.bookings)
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    app.state.staff = StaffDirectory(engine, admin_token)
    limiter = RateLimiter(settings.rate_limit_per_minute)

    @app.middleware("http")
    async def guard_requests(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_request_bytes:
            return JSONResponse(
                {"detail": f"request body larger than {settings.max_request_bytes} bytes"}, status_code=413
            )
        if rate_limited(request):
            wait = limiter.retry_after(request.client.host if request.client else "unknown")
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

    from assistant.routes import router as chat_router
    from doorplate.booking_pages import router as booking_pages_router
    from doorplate.booking_routes import booking_error
    from doorplate.booking_routes import router as booking_router
    from doorplate.routes import router as doorplate_router

    app.include_router(chat_router)
    app.include_router(doorplate_router)
    app.include_router(booking_router)
    app.include_router(booking_pages_router)
    app.add_exception_handler(BookingError, booking_error)
    app.mount("/static", StaticFiles(directory=str(files("doorplate") / "static")), name="static")

    def kb_or_503(name: str | None):
        try:
            return deps.knowledge_base(name or settings.kb, settings)
        except EmbeddingModelError as exc:
            raise HTTPException(503, str(exc)) from exc

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/api/search", response_model=list[Hit])
    def api_search(
        q: str = Query(..., min_length=1, max_length=500, description="The question"),
        kb: str | None = Query(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$"),
        k: int = Query(5, ge=1, le=50),
    ) -> list[Hit]:
        try:
            return kb_or_503(kb).search(q, k=k)
        except KnowledgeBaseError as exc:
            raise HTTPException(404, str(exc)) from exc

    @app.get("/", response_class=HTMLResponse)
    def search_page(q: str = Query("", max_length=500)) -> str:
        rows = ""
        if q.strip():
            try:
                hits = kb_or_503(None).search(q, k=5)
            except KnowledgeBaseError as exc:
                hits, rows = [], f"<p role='alert'>{html.escape(str(exc))}</p>"
            rows += (
                "".join(
                    f"<li><strong>{html.escape(h.title)}</strong> <small>{html.escape(h.id)} · {html.escape(h.section)}</small>"
                    f"<pre>{html.escape(h.text)}</pre></li>"
                    for h in hits
                )
                or "<p>没有找到相关事项。</p>"
            )
        return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>智引 · 事项检索</title>
<style>body{{font:18px/1.6 system-ui,sans-serif;max-width:46rem;margin:auto;padding:1rem}}
input{{font-size:1.1rem;width:70%;padding:.4rem}}button{{font-size:1.1rem;padding:.4rem 1rem}}
pre{{white-space:pre-wrap;background:#f4f4f4;padding:.5rem}}</style></head>
<body><main><h1>智引 · 事项检索</h1>
<form method="get" role="search"><label for="q">您要办什么事？</label><br>
<input id="q" name="q" value="{html.escape(q)}" placeholder="例如：开个体户要带啥材料"> <button>搜索</button></form>
<ol>{rows}</ol></main></body></html>"""

    return app
