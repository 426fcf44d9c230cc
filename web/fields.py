"""What was read, field by field, as people are shown it: value, confidence, source, and
the box on the page as fractions (DESIGN.md, "Resources": `{page, x0, y0, x1, y1}`,
origin top left) — pure functions of the stored extraction and the pages' sizes.
"""

from typing import Any

from pydantic import BaseModel, Field

from domain.field_boxes import (
    CORRECTED,
    QR_FIELDS,
    SHOWN_FIELDS,
    FieldBox,
    box_fraction,
    corrected_fields,
    field_reading,
    has_value,
    source_of,
)

# The pure parts (boxes, sources) live in domain.field_boxes: the document resource
# (storage) shows the same. Re-exported here for the workspace's modules and tests.
__all__ = [
    "CORRECTED",
    "EDITABLE",
    "QR_FIELDS",
    "SHOWN_FIELDS",
    "DocumentFields",
    "FieldBox",
    "FieldView",
    "box_fraction",
    "corrected_fields",
    "field_views",
    "source_of",
]

# Values people may correct on the task page (the rest are shown, not edited).
EDITABLE = frozenset({"invoice_number", "issue_date", "due_date", "currency", "total", "reference"})


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


def field_views(
    extraction: dict[str, Any] | None,
    sizes: list[tuple[float, float]],
    corrected: set[str] | None = None,
) -> list[FieldView]:
    """Every shown field that has a value (or was corrected), in SHOWN_FIELDS order."""
    if not extraction:
        return []
    corrected = corrected or set()
    views = []
    for name in SHOWN_FIELDS:
        if not has_value(extraction.get(name)) and name not in EDITABLE:
            continue
        reading = field_reading(name, extraction, sizes, corrected)
        views.append(FieldView(name=name, **reading.model_dump(), editable=name in EDITABLE))
    return views
