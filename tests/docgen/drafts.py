"""A document ready to be drawn (`Draft`), and turning drafts into one PDF file."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from .model import GeneratedDocument, Truth
from .pdfkit import A4_H, A4_W, new_canvas

# What real files name as their producer; a reader must not rely on it.
CREATORS = (
    "Microsoft® Word für Microsoft 365",
    "bexio",
    "Abacus",
    "Banana Buchhaltung",
    "SAP Business One",
    "LibreOffice Writer",
    "Sage 50",
    "Klara Business",
    "Run my Accounts",
)


@dataclass
class Draft:
    truth: Truth
    filename: str
    draw: Callable[[Canvas], int]  # draws its pages, each ended with showPage; returns count
    when: datetime
    title: str = ""
    author: str = ""
    creator: str = ""
    size_mm: tuple[float, float] = (A4_W, A4_H)
    data: Any = None  # builder-specific data (e.g. invoice lines for the e-invoice XML)
    initial_font: str = "Helvetica"  # "Vera" for PDF/A (all fonts embedded)


def build_pdf(drafts: list[Draft], seed: int) -> tuple[bytes, list[tuple[int, int]]]:
    """Draw all drafts into one PDF; return its bytes and each draft's page range."""
    first = drafts[0]
    buf = io.BytesIO()
    c = new_canvas(
        buf,
        first.size_mm,
        seed=seed,
        when=first.when,
        title=first.title,
        author=first.author,
        creator=first.creator,
        initial_font=first.initial_font,
    )
    ranges: list[tuple[int, int]] = []
    start = 1
    for draft in drafts:
        pages = draft.draw(c)
        ranges.append((start, start + pages - 1))
        draft.truth.pages = pages
        start += pages
    c.save()
    return buf.getvalue(), ranges


def pdf_document(draft: Draft, seed: int) -> GeneratedDocument:
    data, _ = build_pdf([draft], seed)
    return GeneratedDocument(
        data=data,
        filename=draft.filename,
        media_type="application/pdf",
        truth=draft.truth,
        copy="text",
        seed=seed,
    )


def safe_filename(text: str) -> str:
    return re.sub(r"[^0-9A-Za-zÀ-ÿ._-]+", "_", text).strip("_")
