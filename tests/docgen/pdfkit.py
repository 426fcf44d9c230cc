"""Thin drawing layer over reportlab: millimetres from the top-left, fonts, wrapping, QR.

Documents are drawn in two passes where page numbers are needed ("Seite 1/2"), so
every drawing call here is pure: no randomness, same input -> same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.colors import Color, black, white
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

A4_W, A4_H = 210.0, 297.0


@dataclass(frozen=True)
class FontSet:
    regular: str
    bold: str
    italic: str
    embedded: bool = False  # True: TrueType embedded in the file (PDF/A needs it)

    def get(self, style: str) -> str:
        return {"regular": self.regular, "bold": self.bold, "italic": self.italic}[style]


HELVETICA = FontSet("Helvetica", "Helvetica-Bold", "Helvetica-Oblique")
TIMES = FontSet("Times-Roman", "Times-Bold", "Times-Italic")
COURIER = FontSet("Courier", "Courier-Bold", "Courier-Oblique")
# Bitstream Vera ships inside reportlab, so the same bytes come out on every machine.
VERA = FontSet("Vera", "VeraBd", "VeraIt", embedded=True)

_registered = False


def register_fonts() -> None:
    global _registered
    if _registered:
        return
    for name in ("Vera", "VeraBd", "VeraIt"):
        pdfmetrics.registerFont(TTFont(name, f"{name}.ttf"))
    _registered = True


def new_canvas(
    buf: io.BytesIO,
    size_mm: tuple[float, float],
    *,
    seed: int,
    when: datetime,
    title: str = "",
    author: str = "",
    creator: str = "",
    initial_font: str = "Helvetica",
) -> Canvas:
    """A canvas whose bytes depend only on what is drawn, the seed and `when`.

    reportlab's invariant mode fixes the date to 2000-01-01; we put the document's own
    date into the metadata instead (as the issuing software would) and seed the file
    ID, so SOURCE_DATE_EPOCH or the clock never leak in.
    """
    register_fonts()
    # Every page starts by selecting `initial_font`; PDF/A files need an embedded one there.
    c = Canvas(
        buf,
        pagesize=(size_mm[0] * mm, size_mm[1] * mm),
        invariant=1,
        pageCompression=1,
        initialFontName=initial_font,
    )
    doc = c._doc
    stamp = doc._timeStamp
    stamp.YMDhms = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    stamp.dhh, stamp.dmm = 0, 0
    doc.signature = hashlib.md5(f"docgen-{seed}".encode(), usedforsecurity=False)
    if title:
        c.setTitle(title)
    if author:
        c.setAuthor(author)
    if creator:
        c.setCreator(creator)
    return c


class Pen:
    """Draw in millimetres with y measured from the top edge of the current page."""

    def __init__(self, c: Canvas, fonts: FontSet, size_mm: tuple[float, float] = (A4_W, A4_H)):
        self.c = c
        self.fonts = fonts
        self.w, self.h = size_mm

    def set_page_size(self, size_mm: tuple[float, float]) -> None:
        self.w, self.h = size_mm
        self.c.setPageSize((size_mm[0] * mm, size_mm[1] * mm))

    def _y(self, y: float) -> float:
        return (self.h - y) * mm

    def width(
        self, text: str, size: float, style: str = "regular", font: str | None = None
    ) -> float:
        return pdfmetrics.stringWidth(text, font or self.fonts.get(style), size) / mm

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float = 9,
        style: str = "regular",
        align: str = "left",
        color: Color = black,
        font: str | None = None,
    ) -> None:
        """Baseline at y mm from the top."""
        c = self.c
        c.setFillColor(color)
        c.setFont(font or self.fonts.get(style), size)
        if align == "right":
            c.drawRightString(x * mm, self._y(y), text)
        elif align == "center":
            c.drawCentredString(x * mm, self._y(y), text)
        else:
            c.drawString(x * mm, self._y(y), text)
        c.setFillColor(black)

    def lines(
        self,
        x: float,
        y: float,
        lines: Sequence[str],
        size: float = 9,
        leading: float | None = None,
        style: str = "regular",
        align: str = "left",
        color: Color = black,
        first_bold: bool = False,
    ) -> float:
        """Draw lines from baseline y down; return the baseline after the last one."""
        step = leading if leading is not None else size * 0.3528 * 1.25
        for i, line in enumerate(lines):
            st = "bold" if first_bold and i == 0 else style
            self.text(x, y, line, size, st, align, color)
            y += step
        return y

    def wrap(self, text: str, width: float, size: float, style: str = "regular") -> list[str]:
        out: list[str] = []
        for para in text.split("\n"):
            words = para.split(" ")
            line = ""
            for word in words:
                candidate = f"{line} {word}" if line else word
                if self.width(candidate, size, style) <= width or not line:
                    line = candidate
                else:
                    out.append(line)
                    line = word
            out.append(line)
        return out

    def paragraph(
        self,
        x: float,
        y: float,
        text: str,
        width: float,
        size: float = 9,
        leading: float | None = None,
        style: str = "regular",
    ) -> float:
        return self.lines(x, y, self.wrap(text, width, size, style), size, leading, style)

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        width: float = 0.3,
        color: Color = black,
        dash: Sequence[float] | None = None,
    ) -> None:
        c = self.c
        c.setStrokeColor(color)
        c.setLineWidth(width)
        if dash:
            c.setDash(list(dash))
        c.line(x1 * mm, self._y(y1), x2 * mm, self._y(y2))
        if dash:
            c.setDash([])
        c.setStrokeColor(black)

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: Color | None = None,
        stroke: Color | None = None,
        width: float = 0.3,
        radius: float = 0.0,
    ) -> None:
        """Rectangle with its top-left corner at (x, y)."""
        c = self.c
        if fill is not None:
            c.setFillColor(fill)
        if stroke is not None:
            c.setStrokeColor(stroke)
            c.setLineWidth(width)
        args = (x * mm, self._y(y + h), w * mm, h * mm)
        if radius:
            c.roundRect(
                *args, radius * mm, stroke=int(stroke is not None), fill=int(fill is not None)
            )
        else:
            c.rect(*args, stroke=int(stroke is not None), fill=int(fill is not None))
        c.setFillColor(black)
        c.setStrokeColor(black)

    def circle(self, x: float, y: float, r: float, fill: Color) -> None:
        self.c.setFillColor(fill)
        self.c.circle(x * mm, self._y(y), r * mm, stroke=0, fill=1)
        self.c.setFillColor(black)


@functools.lru_cache(maxsize=64)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """QR modules for the payload (error correction M, as the SIX guidelines require).

    The mask is fixed from the payload instead of searched: any mask is valid, and the
    search is 90 % of qrcode's time. Cached because layouts draw twice (page count).
    """
    mask = sum(payload.encode("utf-8")) % 8
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=mask)
    qr.add_data(payload.encode("utf-8"))
    qr.make(fit=True)
    return tuple(tuple(row) for row in qr.get_matrix())


def draw_qr(
    pen: Pen, payload: str, x: float, y: float, size: float, swiss_cross: bool = True
) -> None:
    """Vector QR code, top-left at (x, y) mm, `size` mm square. Each run of dark modules in
    a row is one rectangle, written as raw PDF operators (reportlab's path API is 20x
    slower for the ~1500 rectangles of a QR-bill code)."""
    matrix = qr_matrix(payload)
    n = len(matrix)
    cell = size / n * mm
    x0 = x * mm
    top = pen._y(y)
    ops: list[str] = []
    for row_idx, row in enumerate(matrix):
        col = 0
        y_pt = top - (row_idx + 1) * cell
        while col < n:
            if not row[col]:
                col += 1
                continue
            start = col
            while col < n and row[col]:
                col += 1
            ops.append(
                f"{x0 + start * cell:.3f} {y_pt:.3f} {(col - start) * cell:.3f} {cell:.3f} re"
            )
    c = pen.c
    c.saveState()
    c.setFillColor(black)
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()
    if swiss_cross:
        draw_swiss_cross(pen, x + size / 2, y + size / 2)


def draw_swiss_cross(pen: Pen, cx: float, cy: float) -> None:
    """7 mm Swiss cross: white margin, black square, white cross (SIX IG 6.4.2)."""
    pen.rect(cx - 3.5, cy - 3.5, 7, 7, fill=white)
    pen.rect(cx - 3.15, cy - 3.15, 6.3, 6.3, fill=black)
    arm_long, arm_short = 3.9, 1.2
    pen.rect(cx - arm_short / 2, cy - arm_long / 2, arm_short, arm_long, fill=white)
    pen.rect(cx - arm_long / 2, cy - arm_short / 2, arm_long, arm_short, fill=white)


def draw_logo(
    pen: Pen, x: float, y: float, size: float, initials: str, color: Color, shape: int
) -> None:
    """A simple company mark (graphics near text, as real letterheads have)."""
    if shape == 0:
        pen.circle(x + size / 2, y + size / 2, size / 2, color)
    elif shape == 1:
        pen.rect(x, y, size, size, fill=color, radius=size * 0.18)
    else:
        pen.rect(x, y, size * 0.3, size, fill=color)
        pen.rect(x + size * 0.35, y + size * 0.35, size * 0.65, size * 0.65, fill=color)
    if shape != 2:
        pen.text(x + size / 2, y + size * 0.66, initials, size * 1.25, "bold", "center", white)
