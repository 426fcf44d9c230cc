"""Business-letter layouts: letterhead, envelope window, table, totals, footer, QR part.

A builder (invoices, letters, statements, payslips) fills a `BusinessDoc` with finished
strings; a layout only decides where they go. Four layouts differ the way real Swiss
invoicing software does: sender block top-left vs logo block top-right, recipient window
right or left (SN 010130), table style, and where the totals sit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.pdfgen.canvas import Canvas

from .model import Company
from .pdfkit import A4_H, A4_W, FontSet, Pen, draw_logo, register_fonts
from .qr_part import PART_TOP, QrBillSpec, draw_payment_part

LAYOUTS = 4
ACCENTS = (
    HexColor("#1F3A5F"),
    HexColor("#006D6F"),
    HexColor("#7A1F2B"),
    HexColor("#2F5D2F"),
    HexColor("#444444"),
    HexColor("#B35900"),
)
GRAY = HexColor("#666666")
LIGHT = HexColor("#EFEFEF")

LEFT = 22.0  # left margin (mm)
RIGHT = 188.0  # right edge of text (mm)
WINDOW_RIGHT_X = 118.0  # SN 010130 window right
WINDOW_LEFT_X = 22.0  # SN 010130 window left
WINDOW_TOP = 50.0


@dataclass
class Column:
    header: str
    width: float  # mm; all columns of a table add up to RIGHT - LEFT
    align: str = "left"


@dataclass
class TotalRow:
    label: str
    value: str
    bold: bool = False
    rule_above: bool = False


@dataclass
class BusinessDoc:
    layout: int
    language: str
    fonts: FontSet
    sender: Company
    title: str
    header_lines: list[str] = field(default_factory=list)  # street, town (under the name)
    contact_lines: list[str] = field(default_factory=list)  # phone, e-mail, web
    id_lines: list[str] = field(default_factory=list)  # VAT number etc.
    bank_lines: list[str] = field(default_factory=list)
    window: list[str] = field(default_factory=list)  # recipient address as printed
    pp_line: str | None = None  # "P.P. CH-8001 Zürich" franking line above the address
    place_date: str | None = None
    meta: list[tuple[str, str]] = field(default_factory=list)
    greeting: str | None = None
    intro: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    bold_rows: set[int] = field(default_factory=set)
    totals: list[TotalRow] = field(default_factory=list)
    outro: list[str] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)
    page_label: str = "{i}/{n}"
    carried_label: str | None = None
    qr: QrBillSpec | None = None
    accent: Color = ACCENTS[0]
    logo_shape: int = 0
    short_ref: str = ""  # "Rechnung 2026-0142" on continuation pages
    pdfa: bool = False  # every font embedded (Factur-X is PDF/A-3)


def render_business_doc(c: Canvas, doc: BusinessDoc) -> int:
    """Draw `doc` onto `c` (starting on a fresh page); return the number of pages."""
    register_fonts()
    scratch = Canvas(io.BytesIO(), pagesize=c._pagesize, invariant=1)
    pages = _Renderer(Pen(scratch, doc.fonts), doc, None).run()
    return _Renderer(Pen(c, doc.fonts), doc, pages).run()


class _Renderer:
    def __init__(self, pen: Pen, doc: BusinessDoc, total_pages: int | None):
        self.pen = pen
        self.doc = doc
        self.total = total_pages
        self.page = 1
        self.style = doc.layout % LAYOUTS
        has_footer = self.style in (1, 2) or bool(doc.bank_lines and self.style == 0)
        self.limit = 268.0 if has_footer else 276.0

    # --- page frame -----------------------------------------------------------------------

    def run(self) -> int:
        pen, doc = self.pen, self.doc
        pen.set_page_size((A4_W, A4_H))
        y = self.first_page_header()
        if doc.greeting:
            pen.text(LEFT, y, doc.greeting, 9.5)
            y += 7
        for para in doc.intro:
            y = pen.paragraph(LEFT, y, para, RIGHT - LEFT, 9.5, 4.4) + 2.5
        if doc.columns:
            y = self.table(y + 1)
        y = self.tail(y + 4)
        if doc.qr is not None:
            if y > PART_TOP - 3:
                self.new_page()
            # The QR-bill standard asks for Helvetica/Arial; PDF/A needs embedded fonts.
            draw_payment_part(pen, doc.qr, doc.fonts.regular if doc.pdfa else "Helvetica")
        self.finish_page(qr_on_page=doc.qr is not None)
        pen.c.showPage()
        return self.page

    def new_page(self) -> float:
        self.finish_page(qr_on_page=False)
        self.pen.c.showPage()
        self.pen.set_page_size((A4_W, A4_H))
        self.page += 1
        pen, doc = self.pen, self.doc
        pen.text(LEFT, 16, doc.sender.name, 8.5, "bold", color=GRAY)
        pen.text(LEFT, 21, doc.short_ref or doc.title, 8.5, color=GRAY)
        pen.line(LEFT, 24, RIGHT, 24, 0.2, GRAY)
        return 32.0

    def finish_page(self, qr_on_page: bool) -> None:
        pen, doc = self.pen, self.doc
        if self.total and self.total > 1:
            text = doc.page_label.format(i=self.page, n=self.total)
            pen.text(RIGHT, 10, text, 7.5, align="right", color=GRAY)
        if qr_on_page:
            return
        if self.style == 0 and doc.bank_lines:
            pen.text(105, 286, "  ·  ".join(doc.bank_lines), 7, align="center", color=GRAY)
        elif self.style == 1:
            cols = [
                [doc.sender.name, *doc.header_lines],
                doc.contact_lines,
                doc.bank_lines,
            ]
            pen.line(LEFT, 276, RIGHT, 276, 0.3, doc.accent)
            for i, col in enumerate(cols):
                pen.lines(LEFT + i * 58, 280, col, 6.8, 3.0, color=GRAY)
        elif self.style == 2:
            pen.line(LEFT, 278, RIGHT, 278, 0.3, GRAY)
            pen.lines(LEFT, 282, doc.bank_lines[:4], 7, 3.2, color=GRAY)

    # --- first page -------------------------------------------------------------------------

    def first_page_header(self) -> float:
        return (self._header0, self._header1, self._header2, self._header3)[self.style]()

    def _window(self, x: float, sender_line: bool) -> None:
        pen, doc = self.pen, self.doc
        y = WINDOW_TOP + 3
        if sender_line:
            line = " · ".join([doc.sender.name, *doc.header_lines[:2]])
            pen.text(x, y - 1, line, 6.3, color=GRAY)
            pen.line(x, y, x + min(pen.width(line, 6.3), 85), y, 0.2, GRAY)
            y += 5
        elif doc.pp_line:
            pen.text(x, y - 1, doc.pp_line, 6.5, "bold")
            pen.line(x, y, x + 60, y, 0.3)
            y += 5
        else:
            y += 4
        pen.lines(x, y, doc.window, 10, 4.4)

    def _meta_table(self, x: float, y: float, label_w: float, size: float = 9) -> float:
        for label, value in self.doc.meta:
            self.pen.text(x, y, label, size, color=GRAY if self.style == 3 else black)
            self.pen.text(x + label_w, y, value, size)
            y += size * 0.3528 * 1.45
        return y

    def _header0(self) -> float:
        """Classic: sender block top-left, window right, date under the window."""
        pen, doc = self.pen, self.doc
        pen.text(LEFT, 22, doc.sender.name, 13, "bold")
        y = pen.lines(LEFT, 27.5, doc.header_lines, 8.5, 3.7)
        y = pen.lines(LEFT, y, doc.contact_lines, 8.5, 3.7)
        pen.lines(LEFT, y, doc.id_lines, 8.5, 3.7)
        self._window(WINDOW_RIGHT_X, sender_line=False)
        if doc.place_date:
            pen.text(WINDOW_RIGHT_X, 86, doc.place_date, 9.5)
        pen.text(LEFT, 98, doc.title, _fit(pen, doc.title, RIGHT - LEFT, 14), "bold")
        return self._meta_table(LEFT, 105, 38) + 5

    def _header1(self) -> float:
        """Modern: logo block top-right, window left with sender line, meta right."""
        pen, doc = self.pen, self.doc
        initials = "".join(w[0] for w in doc.sender.name.split()[:2] if w[0].isalpha()).upper()
        draw_logo(pen, RIGHT - 16, 12, 16, initials or "X", doc.accent, doc.logo_shape)
        pen.text(RIGHT - 20, 18, doc.sender.name, 12, "bold", "right", doc.accent)
        pen.lines(
            RIGHT - 20, 23, [*doc.header_lines, *doc.id_lines], 8, 3.4, align="right", color=GRAY
        )
        self._window(WINDOW_LEFT_X, sender_line=True)
        y = 58.0
        if doc.place_date:
            pen.text(125, y, doc.place_date, 8.5)
            y += 6
        for label, value in doc.meta:
            pen.text(125, y, label, 8, color=GRAY)
            pen.text(RIGHT, y, value, 8.5, align="right")
            y += 4.4
        pen.text(
            LEFT, 100, doc.title, _fit(pen, doc.title, RIGHT - LEFT, 17), "bold", color=doc.accent
        )
        return 110.0

    def _header2(self) -> float:
        """Centred letterhead with rule, window right, meta as a boxed grid row."""
        pen, doc = self.pen, self.doc
        pen.text(105, 20, doc.sender.name, 17, "bold", "center")
        sub = "  ·  ".join([*doc.header_lines[:2], *doc.contact_lines[:2]])
        pen.text(105, 26, sub, 8, align="center", color=GRAY)
        rule = 29.5
        if doc.id_lines:
            pen.text(105, 29.5, "  ·  ".join(doc.id_lines), 7.5, align="center", color=GRAY)
            rule = 32.0
        pen.line(LEFT, rule, RIGHT, rule, 0.6, doc.accent)
        self._window(WINDOW_RIGHT_X, sender_line=False)
        if doc.place_date:
            pen.text(LEFT, 80, doc.place_date, 9.5)
        pen.text(LEFT, 92, doc.title, _fit(pen, doc.title, RIGHT - LEFT, 13), "bold")
        meta = doc.meta
        if not meta:
            return 100.0
        need = [max(pen.width(label, 7), pen.width(value, 9)) + 3.5 for label, value in meta]
        if sum(need) > RIGHT - LEFT:  # too much for one grid row: a plain table instead
            return self._meta_table(LEFT, 99, 40) + 5
        spare = (RIGHT - LEFT - sum(need)) / len(need)
        pen.rect(LEFT, 96, RIGHT - LEFT, 11, stroke=black, width=0.3)
        cx = LEFT
        for i, ((label, value), width) in enumerate(zip(meta, need, strict=True)):
            if i:
                pen.line(cx, 96, cx, 107, 0.3)
            pen.text(cx + 1.5, 99.8, label, 7, color=GRAY)
            pen.text(cx + 1.5, 104.8, value, 9)
            cx += width + spare
        return 115.0

    def _header3(self) -> float:
        """Software style: small sender stack, round logo, window left, title block right."""
        pen, doc = self.pen, self.doc
        initials = "".join(w[0] for w in doc.sender.name.split()[:2] if w[0].isalpha()).upper()
        draw_logo(pen, RIGHT - 15, 10, 15, initials or "X", doc.accent, 0)
        pen.text(LEFT, 15, doc.sender.name, 10, "bold")
        y = pen.lines(LEFT, 19.5, [*doc.header_lines, *doc.contact_lines], 7.5, 3.3, color=GRAY)
        pen.lines(LEFT, y, doc.id_lines, 7.5, 3.3, color=GRAY)
        self._window(WINDOW_LEFT_X, sender_line=True)
        pen.text(
            WINDOW_RIGHT_X, 56, doc.title, _fit(pen, doc.title, RIGHT - WINDOW_RIGHT_X, 15), "bold"
        )
        y = 63.0
        if doc.place_date:
            pen.text(WINDOW_RIGHT_X, y, doc.place_date, 8.5)
            y += 5
        self._meta_table(WINDOW_RIGHT_X, y, 32, 8.5)
        return 100.0

    # --- table ---------------------------------------------------------------------------------

    def _cell_lines(self, col: Column, text: str, size: float) -> list[str]:
        if col.align == "right":
            return [text]
        return self.pen.wrap(text, col.width - 2, size)

    def table_header(self, y: float) -> float:
        pen, doc = self.pen, self.doc
        size = 8.5
        if self.style == 1:
            pen.rect(LEFT, y - 4.2, RIGHT - LEFT, 6, fill=doc.accent)
        elif self.style == 2:
            pen.rect(LEFT, y - 4.2, RIGHT - LEFT, 6, fill=LIGHT, stroke=black, width=0.3)
        x = LEFT
        for col in doc.columns:
            color = white if self.style == 1 else (GRAY if self.style == 3 else black)
            header = col.header.upper() if self.style == 3 else col.header
            if col.align == "right":
                pen.text(x + col.width - 1, y, header, size, "bold", "right", color)
            else:
                pen.text(x + 1, y, header, size, "bold", color=color)
            x += col.width
        if self.style == 0:
            pen.line(LEFT, y + 1.8, RIGHT, y + 1.8, 0.5)
        elif self.style == 3:
            pen.line(LEFT, y + 1.8, RIGHT, y + 1.8, 0.3, GRAY, dash=(1, 1))
        return y + 6.5

    def table(self, y: float) -> float:
        pen, doc = self.pen, self.doc
        size, lead = 8.8, 3.9
        y = self.table_header(y)
        for idx, row in enumerate(doc.rows):
            cells = [
                self._cell_lines(col, text, size)
                for col, text in zip(doc.columns, row, strict=True)
            ]
            height = max(len(c) for c in cells) * lead + 1.6
            if y + height > self.limit:
                if doc.carried_label:
                    pen.text(LEFT + 1, y + 1, doc.carried_label, 8, "italic", color=GRAY)
                y = self.table_header(self.new_page())
            if self.style == 1 and idx % 2 == 1:
                pen.rect(LEFT, y - 3.4, RIGHT - LEFT, height, fill=LIGHT)
            x = LEFT
            st = "bold" if idx in doc.bold_rows else "regular"
            for col, lines in zip(doc.columns, cells, strict=True):
                if col.align == "right":
                    pen.text(x + col.width - 1, y, lines[0], size, st, "right")
                else:
                    pen.lines(x + 1, y, lines, size, lead, st)
                x += col.width
            if self.style == 2:
                x = LEFT
                pen.line(LEFT, y - 3.4, LEFT, y - 3.4 + height, 0.3)
                for col in doc.columns:
                    x += col.width
                    pen.line(x, y - 3.4, x, y - 3.4 + height, 0.3)
                pen.line(LEFT, y - 3.4 + height, RIGHT, y - 3.4 + height, 0.3)
            y += height
        if self.style in (0, 3):
            pen.line(LEFT, y - 2, RIGHT, y - 2, 0.3 if self.style == 0 else 0.2, GRAY)
        return y

    # --- totals, closing -------------------------------------------------------------------------

    def _tail_height(self) -> float:
        doc = self.doc
        h = len(doc.totals) * 5.2 + 6
        for para in doc.outro:
            h += len(self.pen.wrap(para, RIGHT - LEFT, 9.5)) * 4.4 + 2.5
        return h + len(doc.closing) * 4.4 + 6

    def tail(self, y: float) -> float:
        pen, doc = self.pen, self.doc
        if y + self._tail_height() > self.limit:
            y = self.new_page()
        if doc.totals:
            y = self._totals(y)
        y += 3
        for para in doc.outro:
            y = pen.paragraph(LEFT, y, para, RIGHT - LEFT, 9.5, 4.4) + 2.5
        if doc.closing:
            y = pen.lines(LEFT, y + 3, doc.closing, 9.5, 4.4)
        return y

    def _totals(self, y: float) -> float:
        pen, doc = self.pen, self.doc
        if self.style == 2:  # left-aligned block under the table
            label_x, value_x = LEFT + 1, LEFT + 95
        else:
            label_x, value_x = 112.0, RIGHT - 1
        # Long labels ("Montant de la note de crédit") push the label column left.
        need = (
            max(
                pen.width(row.label, 10.5, "bold") + pen.width(row.value, 10.5, "bold")
                for row in doc.totals
            )
            + 6
        )
        label_x = max(LEFT + 1, min(label_x, value_x - need))
        if self.style == 1:
            h = len(doc.totals) * 5.2 + 3
            pen.rect(label_x - 4, y - 4.5, RIGHT - label_x + 4, h, fill=LIGHT)
        for row in doc.totals:
            if row.rule_above:
                pen.line(label_x - 1, y - 3.8, value_x + 1, y - 3.8, 0.4)
            size = 10.5 if row.bold else 9
            st = "bold" if row.bold else "regular"
            pen.text(label_x, y, row.label, size, st)
            pen.text(value_x, y, row.value, size, st, "right")
            if row.bold and self.style == 3:
                pen.line(value_x - 25, y + 1.5, value_x, y + 1.5, 0.3)
                pen.line(value_x - 25, y + 2.2, value_x, y + 2.2, 0.3)
            y += 5.2
        return y


def _fit(pen: Pen, text: str, width: float, size: float, style: str = "bold") -> float:
    """The largest font size up to `size` at which `text` fits into `width` mm."""
    while size > 7 and pen.width(text, size, style) > width:
        size -= 0.5
    return size


def fit_columns(widths: list[float]) -> list[float]:
    """Scale relative widths so the table spans the text width exactly."""
    total = sum(widths)
    return [w * (RIGHT - LEFT) / total for w in widths]
