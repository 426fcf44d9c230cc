"""Fields read where a supplier's layout prints them, as a person's correction taught.

When a person corrects a field (invoice number, total, dates, reference) and the value is
found among the words of the document, the place is kept per supplier (fractions of the
page, origin top left; `storage.learning`). The next document of that supplier is read
there too: the words inside the place, widened a little (the next value may be longer or
shifted), parsed by the same field parsers the reader uses.

`read_at_places` reads the values; `fill_from_places` puts them into an `Extraction` where
the reader found nothing or was unsure — never over an exact value (QR-bill, e-invoice
XML), a person's correction, or a confident reading. Pure: no database, no routing.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from domain.enums import DocType, TextSource
from domain.extraction import Box, Extraction
from domain.money import to_money
from extractors.assemble import NOT_FOR
from extractors.field_set import ocr_factor
from extractors.fields.amounts import find_amounts
from extractors.fields.dates import find_dates
from extractors.fields.invoice_number import clean_number
from extractors.fields.references import find_references
from extractors.layout import Line, group_lines
from extractors.reading import PageText, Word

# How far the place is widened, in fractions of the page: the next invoice's number may
# have a digit more, a right-aligned amount grows to the left. Vertically less than a
# line's spacing, so the line above or below stays out.
WIDEN_X = 0.03
WIDEN_Y = 0.008
SURE = 0.9  # exactly one value in the place
AMBIGUOUS = 0.5  # several different values: the nearest, in doubt
# Sources a place never overrides: exact readings and what a person said.
NEVER_OVER = {TextSource.QR, TextSource.XML, TextSource.CORRECTED}


class Place(NamedTuple):
    """Where a layout prints a field: page (1-based) and a box in fractions of the page."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class ReadAtPlace:
    """A value read at a learned place, where on the page (points) and how sure."""

    value: Any
    confidence: float
    box: Box
    source: TextSource


def _invoice_numbers(line: Line) -> list[str]:
    value = clean_number(line.text)
    return [value] if value else []


def _amounts(line: Line) -> list[Decimal]:
    return [to_money(a.value) for a in find_amounts(line.text)]


def _dates(line: Line) -> list[date]:
    return [d.value for d in find_dates(line.text)]


def _references(line: Line) -> list[str]:
    return [ref for _kind, ref, _s, _e in find_references(line.text)]


# The reader's own parser for each field a place can be learned for.
PARSERS: dict[str, Callable[[Line], list[Any]]] = {
    "invoice_number": _invoice_numbers,
    "total": _amounts,
    "issue_date": _dates,
    "due_date": _dates,
    "reference": _references,
}


def words_in_place(page: PageText, place: Place) -> list[Word]:
    """The words whose centre lies inside the place, widened by WIDEN_X / WIDEN_Y."""
    if not page.width or not page.height:
        return []
    x0 = (place.x0 - WIDEN_X) * page.width
    x1 = (place.x1 + WIDEN_X) * page.width
    top = (place.y0 - WIDEN_Y) * page.height
    bottom = (place.y1 + WIDEN_Y) * page.height
    return [
        w
        for w in page.words
        if x0 <= (w.x0 + w.x1) / 2 <= x1 and top <= (w.top + w.bottom) / 2 <= bottom
    ]


def _box(words: list[Word]) -> Box:
    return Box(
        page=words[0].page,
        x0=min(w.x0 for w in words),
        top=min(w.top for w in words),
        x1=max(w.x1 for w in words),
        bottom=max(w.bottom for w in words),
    )


def read_at_place(field: str, page: PageText, place: Place) -> ReadAtPlace | None:
    """The field's value printed at the place on this page; None when nothing parses."""
    parse = PARSERS.get(field)
    words = words_in_place(page, place)
    if parse is None or not words:
        return None
    found = [(value, line) for line in group_lines(words) for value in parse(line)]
    if not found:
        return None
    centre = ((place.y0 + place.y1) / 2) * page.height

    def distance(item: tuple[Any, Line]) -> float:
        line = item[1]
        return abs((line.top + line.bottom) / 2 - centre)

    value, line = min(found, key=distance)
    distinct = {v for v, _ in found}
    confidence = (SURE if len(distinct) == 1 else AMBIGUOUS) * ocr_factor(line.words)
    return ReadAtPlace(value, round(confidence, 3), _box(line.words), page.source)


def read_at_places(
    pages: Iterable[PageText], places: Mapping[str, Place]
) -> dict[str, ReadAtPlace]:
    """Per field, the value read at its learned place (fields where nothing parses are
    left out)."""
    by_number = {p.number: p for p in pages}
    out: dict[str, ReadAtPlace] = {}
    for field, place in places.items():
        page = by_number.get(place.page)
        if page is None:
            continue
        found = read_at_place(field, page, Place(*place))
        if found is not None:
            out[field] = found
    return out


def fill_from_places(
    extraction: Extraction,
    pages: Iterable[PageText],
    places: Mapping[str, Place],
    *,
    confident: float,
) -> tuple[Extraction, list[str]]:
    """The extraction with fields read at their learned places, and which fields those are.

    A field is filled only where the reader found nothing or is below `confident`, its
    value did not come from the QR-bill, the e-invoice XML or a person, the document type
    has such a field, and the place reads more surely than the reader did. Unchanged
    (the same object) when nothing is filled."""
    if extraction.error is not None:
        return extraction, []
    wanted = {
        field: place
        for field, place in places.items()
        if field in PARSERS
        and field not in NOT_FOR.get(extraction.doc_type, ())
        and extraction.sources.get(field) not in NEVER_OVER
        and (getattr(extraction, field) is None or extraction.conf(field) < confident)
    }
    if not wanted:
        return extraction, []
    found = read_at_places(pages, wanted)
    filled = extraction.model_copy(deep=True)
    changed: list[str] = []
    for field, read in found.items():
        value = read.value
        if field == "total" and extraction.doc_type is DocType.CREDIT_NOTE:
            value = -abs(value)  # credit notes carry a negative total, printed either way
        current = getattr(extraction, field)
        confidence = read.confidence
        if current == value:
            # The reader and the place agree: independent evidence.
            confidence = min(0.995, 1 - (1 - extraction.conf(field)) * (1 - confidence))
        elif confidence <= extraction.conf(field):
            continue
        setattr(filled, field, value)
        filled.confidence[field] = round(confidence, 3)
        filled.positions[field] = read.box
        filled.sources[field] = read.source
        changed.append(field)
    return (filled, changed) if changed else (extraction, [])
