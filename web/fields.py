"""What was read, field by field, as people are shown it: value, confidence, source, and
the box on the page as fractions (DESIGN.md, "Resources": `{page, x0, y0, x1, y1}`,
origin top left) — pure functions of the stored extraction and the pages' sizes.
"""

from typing import Any

from pydantic import BaseModel, Field

from domain.enums import TextSource

# The fields a person checks, in the order the task page lists them.
SHOWN_FIELDS = (
    "supplier_name",
    "supplier_uid",
    "supplier_iban",
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "total",
    "vat",
    "reference",
)
CORRECTED = "corrected"
# Values people may correct on the task page (the rest are shown, not edited).
EDITABLE = frozenset({"invoice_number", "issue_date", "due_date", "currency", "total", "reference"})
QR_FIELDS = frozenset({"supplier_iban", "total", "currency", "reference", "supplier_name"})


class FieldBox(BaseModel):
    page: int
    x0: float
    y0: float
    x1: float
    y1: float


class FieldView(BaseModel):
    name: str
    value: Any = None
    confidence: float | None = None
    source: str | None = None  # qr | xml | text_layer | ocr | corrected
    box: FieldBox | None = None
    editable: bool = False


class DocumentFields(BaseModel):
    """`GET /api/v1/documents/{id}/fields`."""

    document_id: int
    pages: int
    page_sizes: list[tuple[float, float]] = Field(default_factory=list)
    fields: list[FieldView]


def box_fraction(box: dict[str, Any], sizes: list[tuple[float, float]]) -> FieldBox | None:
    """A reading's box (points from the top left, `domain.extraction.Box`) as fractions
    of its page; None when the page is unknown or the box makes no sense."""
    try:
        page = int(box["page"])
        width, height = sizes[page - 1]
        x0, top, x1, bottom = (float(box[k]) for k in ("x0", "top", "x1", "bottom"))
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if page < 1 or width <= 0 or height <= 0:
        return None

    def clamp(value: float) -> float:
        return round(min(1.0, max(0.0, value)), 4)

    fraction = FieldBox(
        page=page,
        x0=clamp(x0 / width),
        y0=clamp(top / height),
        x1=clamp(x1 / width),
        y1=clamp(bottom / height),
    )
    if fraction.x1 <= fraction.x0 or fraction.y1 <= fraction.y0:
        return None
    return fraction


def source_of(name: str, extraction: dict[str, Any], corrected: set[str]) -> str | None:
    """Where the value came from: a person's correction first, then what the reader says
    (`sources`), else judged from the reading (older readings do not say)."""
    if name in corrected:
        return CORRECTED
    said = (extraction.get("sources") or {}).get(name)
    if said:
        return str(said)
    text_source = extraction.get("text_source")
    if text_source == TextSource.XML.value:
        return TextSource.XML.value
    if extraction.get("has_qr") and name in QR_FIELDS:
        return TextSource.QR.value
    if text_source == TextSource.QR.value:
        return TextSource.TEXT_LAYER.value  # the rest of a QR invoice came from its page
    return text_source


def field_views(
    extraction: dict[str, Any] | None,
    sizes: list[tuple[float, float]],
    corrected: set[str] | None = None,
) -> list[FieldView]:
    """Every shown field that has a value (or was corrected), in SHOWN_FIELDS order."""
    if not extraction:
        return []
    corrected = corrected or set()
    confidence = extraction.get("confidence") or {}
    positions = extraction.get("positions") or {}
    views = []
    for name in SHOWN_FIELDS:
        value = extraction.get(name)
        if value in (None, [], "") and name not in EDITABLE:
            continue
        box = positions.get(name)
        views.append(
            FieldView(
                name=name,
                value=value,
                confidence=confidence.get(name),
                source=source_of(name, extraction, corrected) if value not in (None, []) else None,
                box=box_fraction(box, sizes) if isinstance(box, dict) else None,
                editable=name in EDITABLE,
            )
        )
    return views


def corrected_fields(history: list[Any]) -> set[str]:
    """Fields a person corrected, from the document's history entries."""
    return {
        entry.field
        for entry in history
        if getattr(entry, "field", None) and str(getattr(entry, "action", "")) == CORRECTED
    }
