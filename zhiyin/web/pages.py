"""Rendering the doorplate wing's HTML pages: the templates, their filters and globals, and the
choices every page honours (长辈模式)."""

from __future__ import annotations

import re
from importlib.resources import files

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from assistant.declines import HOTLINE
from doorplate.codes import format_code
from halls.links import safe_link
from knowledge.chunking import days_text, material_line

PLACE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
ELDER_COOKIE = "zhiyin_elder"

templates = Jinja2Templates(directory=str(files("zhiyin.web") / "templates"))


def chinese(message: str) -> str:
    """The Chinese part of a bilingual "中文。English." message, for a Chinese page."""
    return re.split(r"(?<=。)\s*(?=[A-Za-z])", message, maxsplit=1)[0]


def link(url: str | None, text: str, css_class: str = "") -> Markup:
    """``<a href="url">text</a>`` when ``url`` is a safe link (``halls.links``), else ``text`` alone: the
    one way a page prints a link that comes from data (a guide's online_url, a place's video_help)."""
    href = safe_link(url)
    if href is None:
        return escape(text)  # plain text: nothing to click
    attributes = f' class="{escape(css_class)}"' if css_class else ""
    return Markup(f'<a{attributes} href="{escape(href)}" rel="noopener noreferrer">{escape(text)}</a>')


templates.env.filters["chinese"] = chinese
templates.env.globals.update(
    hotline=HOTLINE,
    format_code=format_code,
    days_text=days_text,
    material_line=material_line,
    link=link,
    inf=float("inf"),
)


def render_page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    """A page, in 长辈模式 when the visitor chose it (remembered in a cookie)."""
    elder = request.cookies.get(ELDER_COOKIE) == "1"
    return templates.TemplateResponse(
        request, template, {"elder": elder, "path": request.url.path, **context}, status_code=status
    )


# What a page says for an HTTP error, in Chinese first (English as a second line).
ERROR_TEXTS = {
    404: ("没有找到这个页面", "您要找的事项、地点或页面不存在，可能已更换或停用。", "Not found."),
    405: ("无法打开这个页面", "这个地址不能这样打开。", "Method not allowed."),
}
DEFAULT_ERROR = ("页面出错了", "请稍后再试。", "Something went wrong.")


def error_page(request: Request, status: int) -> HTMLResponse:
    """A Chinese HTML page for an HTTP error on a page (the API keeps its JSON)."""
    title, message, english = ERROR_TEXTS.get(status, DEFAULT_ERROR)
    return render_page(request, "error.html", status=status, title=title, message=message, english=english)


def wants_page(request: Request) -> bool:
    """A browser asking for a page, not a client of the JSON API."""
    path = request.url.path
    return not path.startswith(("/api/", "/v1/", "/static/")) and "text/html" in request.headers.get(
        "accept", ""
    )
