"""Each field read, as people and scripts are shown it: value, confidence, source and its
box on the page as fractions (DESIGN.md, "Resources": `{page, x0, y0, x1, y1}`, origin
top left) — pure functions of a stored extraction (`Extraction.public_json()`) and the
pages' sizes.

The workspace's `GET /api/v1/documents/{id}/fields` and the document resource's
`extraction.fields` both come from here, so the two never disagree about a field.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from domain.enums import HistoryAction, TextSource
from domain.extraction import PAGE_FIELDS

# The fields a person checks (the ones DESIGN.md's `fiduflow extract` names that are read
# from a page), in the order the task page lists them.
SHOWN_FIELDS = PAGE_FIELDS
CORRECTED = TextSource.CORRECTED.value
# What a Swiss QR-bill carries: on a QR invoice these came from the code, not the page.
QR_FIELDS = frozenset({"supplier_iban", "total", "currency", "reference", "supplier_name"})

PageSizes = Sequence[tuple[float, float]]


class FieldBox(BaseModel):
    """Where a field was read: fractions of its page (0..1), origin top left; page from 1."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float


class FieldReading(BaseModel):
    """One field of the document resource's `extraction.fields`."""

    value: Any = None
    confidence: float | None = None
    source: str | None = None  # qr | xml | text_layer | ocr | corrected
    box: FieldBox | None = None


def _clamp(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 4)


def box_fraction(box: dict[str, Any], sizes: PageSizes) -> FieldBox | None:
    """A reading's box (`domain.extraction.Box`: the reading's units from the top left) as
    fractions of its page; None when the page is unknown or the box makes no sense."""
    try:
        page = int(box["page"])
        width, height = (float(v) for v in sizes[page - 1])
        x0, top, x1, bottom = (float(box[k]) for k in ("x0", "top", "x1", "bottom"))
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if page < 1 or width <= 0 or height <= 0:  # page 0 would wrap to the last one
        return None
    fraction = FieldBox(
        page=page,
        x0=_clamp(x0 / width),
        y0=_clamp(top / height),
        x1=_clamp(x1 / width),
        y1=_clamp(bottom / height),
    )
    if fraction.x1 <= fraction.x0 or fraction.y1 <= fraction.y0:
        return None
    return fraction


def stored_page_sizes(extraction: dict[str, Any] | None) -> list[tuple[float, float]]:
    """The page sizes a stored extraction carries (`Extraction.page_sizes`); empty for
    readings made before they were kept, or when what is stored makes no sense."""
    raw = (extraction or {}).get("page_sizes") or []
    try:
        return [(float(width), float(height)) for width, height in raw]
    except (TypeError, ValueError):
        return []


def sizes_complete(sizes: PageSizes) -> bool:
    """Every page's size is known (a page that was not read is stored as (0, 0))."""
    return bool(sizes) and all(width > 0 and height > 0 for width, height in sizes)


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


def has_value(value: Any) -> bool:
    return value not in (None, [], "")


def field_reading(
    name: str, extraction: dict[str, Any], sizes: PageSizes, corrected: set[str]
) -> FieldReading:
    """One field: no value, no source (there is nothing it came from); no box, no spot."""
    value = extraction.get(name)
    box = (extraction.get("positions") or {}).get(name)
    return FieldReading(
        value=value,
        confidence=(extraction.get("confidence") or {}).get(name),
        source=source_of(name, extraction, corrected) if value not in (None, []) else None,
        box=box_fraction(box, sizes) if isinstance(box, dict) else None,
    )


def field_readings(
    extraction: dict[str, Any], sizes: PageSizes, corrected: set[str] | None = None
) -> dict[str, FieldReading]:
    """Every shown field, read or not (scripts find the same keys on every document)."""
    corrected = corrected or set()
    return {name: field_reading(name, extraction, sizes, corrected) for name in SHOWN_FIELDS}


def corrected_fields(history: Iterable[Any]) -> set[str]:
    """Fields a person corrected, from the document's history entries."""
    return {
        entry.field
        for entry in history
        if getattr(entry, "field", None)
        and str(getattr(entry, "action", "")) == HistoryAction.CORRECTED.value
    }


def with_fields(extraction: dict[str, Any], corrected: set[str] | None = None) -> dict[str, Any]:
    """The stored extraction as the document resource shows it: everything as stored, plus
    `fields` — per shown field its value, confidence, source and box (from the sizes the
    reading kept; null for readings stored before sizes were kept)."""
    sizes = stored_page_sizes(extraction)
    readings = field_readings(extraction, sizes, corrected)
    return {
        **extraction,
        "fields": {name: reading.model_dump(mode="json") for name, reading in readings.items()},
    }
