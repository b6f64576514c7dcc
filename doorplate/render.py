"""Printable QR doorplates: an A5 plate as SVG or PDF, and the QR alone as PNG.

Both plate formats draw the same layout (``_layout``), so a plate printed from the PDF looks like
the SVG a designer opens. The QR is computed once per URL and shared by the three renderers.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_H
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from doorplate.codes import format_code
from halls.places import Place

PAGE_W, PAGE_H = 148.0, 210.0  # A5 in mm; every coordinate below is mm from the top left
MARGIN = 12.0
QUIET_ZONE = 4  # white modules around the symbol, as the QR standard asks
QR_X, QR_Y, QR_SIDE = 34.0, 72.0, 80.0  # the QR box, quiet zone included: ~1.8 mm modules
HEADER_H, FOOTER_Y = 24.0, 188.0
BLUE, INK, GREY, WHITE = "#0b4ea2", "#1a1a1a", "#555555", "#ffffff"

FONT_STACK = '"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif'
MONO_STACK = '"DejaVu Sans Mono",Menlo,Consolas,monospace'
# Adobe-GB1 CID font: PDF viewers bring the glyphs, so no font file is needed on this machine
PDF_FONT, PDF_MONO = "STSong-Light", "Courier-Bold"
pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))

Modules = Sequence[Sequence[bool]]


# -- the QR ------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _modules(url: str) -> tuple[tuple[bool, ...], ...]:
    # level H survives ~30% damage: plates get worn, scratched and stickered over
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=0)
    qr.add_data(url)
    qr.make(fit=True)
    return tuple(tuple(bool(m) for m in row) for row in qr.get_matrix())


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR symbol of ``url`` (True = dark), without quiet zone: renderers add it."""
    return [list(row) for row in _modules(url)]


def _dark_runs(modules: Modules) -> Iterator[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules: one shape per run
    instead of per module keeps the files small and fast to draw."""
    for y, row in enumerate(modules):
        x, n = 0, len(row)
        while x < n:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < n and row[x]:
                x += 1
            yield y, start, x - start


def qr_png(url: str, scale: int = 10) -> bytes:
    """A 1-bit PNG of the QR alone, quiet zone included, ``scale`` pixels per module."""
    modules = _modules(url)
    side = len(modules) + 2 * QUIET_ZONE
    pixels = bytearray(b"\xff" * side * side)
    for y, row in enumerate(modules):
        start = (y + QUIET_ZONE) * side + QUIET_ZONE
        pixels[start : start + len(row)] = bytes(0 if dark else 255 for dark in row)
    image = Image.frombytes("L", (side, side), bytes(pixels)).convert("1", dither=Image.Dither.NONE)
    image = image.resize((side * scale, side * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def qr_svg(url: str) -> str:
    """The QR alone as a small SVG (quiet zone included), for a screen such as the kiosk's."""
    modules = _modules(url)
    side = len(modules) + 2 * QUIET_ZONE
    path = "".join(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{n}v1h-{n}z" for y, x, n in _dark_runs(modules))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>'
    )


# -- the layout --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Text:
    text: str
    y: float  # baseline; every line is centred on the page
    size: float
    color: str = INK
    bold: bool = False
    mono: bool = False


def _ems(text: str) -> float:
    # an estimate that needs no font: CJK is square, Latin and digits are ~0.6 em
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)


_OPENING, _CLOSING = "（(【[“", "）)】]”，,。、·"


def _split_cost(text: str, i: int) -> int | None:
    """How bad a line break before ``text[i]`` is; None where a bracket would be left dangling."""
    before, after = text[i - 1], text[i]
    if after in _CLOSING or before in _OPENING:
        return None
    if after in _OPENING or before in _CLOSING or before == " ":
        return 0  # 某中心A区 / （企业开办）
    if before.isascii() and after.isascii() and before.isalnum() and after.isalnum():
        return 2  # inside a word or number such as C01
    return 1


def _lines(text: str, capacity: float) -> list[str] | None:
    """``text`` on one line of at most ``capacity`` ems, else on two broken at the best place
    (a natural break first, then the most even halves); None if it needs more."""
    widths = [_ems(c) for c in text]
    total = sum(widths)
    if total <= capacity:
        return [text]
    candidates, left = [], 0.0
    for i in range(1, len(text)):
        left += widths[i - 1]
        cost = _split_cost(text, i)
        if cost is not None and left <= capacity and total - left <= capacity:
            candidates.append((cost, abs(total - 2 * left), i))
    if not candidates:
        return None
    i = min(candidates)[2]
    return [text[:i].rstrip(), text[i:].lstrip()]


def _fit(text: str, sizes: Sequence[float]) -> tuple[float, list[str]]:
    """The largest of ``sizes`` at which ``text`` fits on two lines; at the smallest, cut with …"""
    width = PAGE_W - 2 * MARGIN
    for size in sizes:
        lines = _lines(text, width / size)
        if lines:
            return size, lines
    size = sizes[-1]
    capacity = width / size
    cut = 1
    while cut < len(text) and _ems(text[: cut + 1]) <= capacity:
        cut += 1
    rest = text[cut:]
    while rest and _ems(rest + "…") > capacity:
        rest = rest[:-1]
    return size, [text[:cut], rest + "…"]


# What a scan offers, printed under the QR: booking and queue numbers only where the place has them.
TAGLINE_WITH_BOOKING = "扫码办事 · 预约 · 叫号"
TAGLINE = "扫码办事 · 办事指南 · 咨询"


def _layout(place: Place, code: str, bookable: bool) -> list[_Text]:
    name_size, name_lines = _fit(place.name, (10, 9, 8, 7, 6))
    address_size, address_lines = _fit(place.address, (4.5, 4, 3.5)) if place.address else (0, [])
    # centre the name and address between the header band and the QR
    gap = 3.0 if address_lines else 0.0
    height = len(name_lines) * name_size * 1.25 + gap + len(address_lines) * address_size * 1.35
    space_top, space_bottom = HEADER_H + 3, QR_Y - 2
    top = space_top + (space_bottom - space_top - height) / 2
    texts = [_Text("数字政务门牌", 15.5, 8.5, WHITE, bold=True)]
    for i, line in enumerate(name_lines):
        texts.append(_Text(line, top + name_size * (1.25 * i + 1), name_size, bold=True))
    top += len(name_lines) * name_size * 1.25 + gap
    for i, line in enumerate(address_lines):
        texts.append(_Text(line, top + address_size * (1.35 * i + 1), address_size, GREY))
    texts += [
        _Text(format_code(code), QR_Y + QR_SIDE + 8, 5, GREY, mono=True),  # for staff to check
        _Text(TAGLINE_WITH_BOOKING if bookable else TAGLINE, QR_Y + QR_SIDE + 21, 7, BLUE, bold=True),
        _Text("政务服务热线 12345", FOOTER_Y + 13.5, 6, WHITE),
    ]
    return texts


# -- SVG ---------------------------------------------------------------------------------------
def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def plate_svg(place: Place, url: str, code: str, bookable: bool = True) -> str:
    """A print-ready A5 plate as SVG (viewBox in mm); ``bookable``: the place takes bookings."""
    modules = _modules(url)
    module = QR_SIDE / (len(modules) + 2 * QUIET_ZONE)
    origin = _num(QR_X + QUIET_ZONE * module), _num(QR_Y + QUIET_ZONE * module)
    # one path for the whole symbol, in module units: small, fast and crisp at any zoom
    qr_path = "".join(f"M{x} {y}h{n}v1h-{n}z" for y, x, n in _dark_runs(modules))
    texts = []
    for t in _layout(place, code, bookable):
        style = f' font-family={quoteattr(MONO_STACK)} letter-spacing="0.4"' if t.mono else ""
        style += ' font-weight="700"' if t.bold else ""
        texts.append(
            f'<text x="{_num(PAGE_W / 2)}" y="{_num(t.y)}" font-size="{_num(t.size)}" '
            f'fill="{t.color}"{style}>{escape(t.text)}</text>'
        )
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(PAGE_W)}mm" height="{_num(PAGE_H)}mm" '
            f'viewBox="0 0 {_num(PAGE_W)} {_num(PAGE_H)}">',
            f"<title>{escape(place.name)}</title>",
            f'<rect width="{_num(PAGE_W)}" height="{_num(PAGE_H)}" fill="{WHITE}"/>',
            f'<rect width="{_num(PAGE_W)}" height="{_num(HEADER_H)}" fill="{BLUE}"/>',
            f'<rect y="{_num(FOOTER_Y)}" width="{_num(PAGE_W)}" height="{_num(PAGE_H - FOOTER_Y)}" fill="{BLUE}"/>',
            f'<path transform="translate({origin[0]} {origin[1]}) scale({_num(module)})" '
            f'fill="#000" shape-rendering="crispEdges" d="{qr_path}"/>',
            f'<g font-family={quoteattr(FONT_STACK)} text-anchor="middle">',
            *texts,
            "</g>",
            "</svg>",
            "",
        ]
    )


# -- PDF ---------------------------------------------------------------------------------------
def plate_pdf(place: Place, url: str, code: str, bookable: bool = True) -> bytes:
    """The same plate on an A5 PDF page, the QR as vector rectangles."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A5, invariant=True)  # invariant: same input, same bytes
    pdf.setTitle(place.name)

    def fill_rect(x: float, y: float, w: float, h: float, color: str) -> None:
        pdf.setFillColor(HexColor(color))
        pdf.rect(x * mm, (PAGE_H - y - h) * mm, w * mm, h * mm, stroke=0, fill=1)

    fill_rect(0, 0, PAGE_W, HEADER_H, BLUE)
    fill_rect(0, FOOTER_Y, PAGE_W, PAGE_H - FOOTER_Y, BLUE)

    modules = _modules(url)
    module = QR_SIDE / (len(modules) + 2 * QUIET_ZONE) * mm
    left = QR_X * mm + QUIET_ZONE * module
    top = (PAGE_H - QR_Y) * mm - QUIET_ZONE * module
    symbol = pdf.beginPath()  # one filled path: no hairline seams between runs in viewers
    for y, x, n in _dark_runs(modules):
        symbol.rect(left + x * module, top - (y + 1) * module, n * module, module)
    pdf.setFillColor(HexColor("#000000"))
    pdf.drawPath(symbol, stroke=0, fill=1)

    for t in _layout(place, code, bookable):
        pdf.setFont(PDF_MONO if t.mono else PDF_FONT, t.size * mm)
        pdf.setFillColor(HexColor(t.color))
        pdf.drawCentredString(PAGE_W / 2 * mm, (PAGE_H - t.y) * mm, t.text)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
