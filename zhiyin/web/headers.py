"""The security headers every response carries, pages, API, static files and errors alike.

One pure ASGI middleware, so a 413, a 429, a 500 or a static file gets them as a page does. The
pages load only their own scripts and styles (no inline script, no inline style, no CDN), so the
policy allows nothing but this origin.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# the hall's own screens (kiosk, queue screen) may be shown inside a frame of this server's pages;
# nothing else may be framed at all, by anyone (clickjacking a booking or a clerk's page)
SAME_ORIGIN_FRAMES = ("/kiosk", "/screen")
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {frames}"
)
# /docs is Swagger UI: its bundle comes from a CDN (it needs the network, the rest of the app does not)
DOCS_SOURCES = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' {DOCS_SOURCES}; style-src 'self' {DOCS_SOURCES}; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(path: str) -> dict[str, str]:
    """The headers for a response to ``path``."""
    framed = path.startswith(SAME_ORIGIN_FRAMES)
    policy = DOCS_POLICY if path == "/docs" else POLICY.format(frames="'self'" if framed else "'none'")
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "SAMEORIGIN" if framed else "DENY",  # for browsers without frame-ancestors
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",  # page urls carry booking codes and sessions
    }


class SecurityHeaders:
    """Adds ``security_headers`` to every HTTP response, replacing any a route set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in security_headers(scope["path"]).items()]
        names = {k for k, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
