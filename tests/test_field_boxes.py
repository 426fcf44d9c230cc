"""Where each field was read, as the document resource shows it (DESIGN.md, "Resources":
`pages`, and per field in `extraction` a `source` and a `box` as fractions of the page):
the pure box arithmetic, the page sizes a reading keeps, and the resource over HTTP on
SQLite and PostgreSQL.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.enums import TextSource
from domain.extraction import Box, Extraction
from domain.field_boxes import (
    SHOWN_FIELDS,
    FieldBox,
    box_fraction,
    sizes_complete,
    stored_page_sizes,
    with_fields,
)
from domain.settings import Settings
from extractors import classify, extract_fields, ocr, read
from extractors.field_set import page_sizes
from extractors.reading import PageText, Reading
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import ExtractionRow
from tests.factories import chf, invoice_pdf
from tests.workspace_helpers import Firm, make_firm
from web import documents as workspace_documents
from web.app import create_app

STAFF = {"Authorization": "Bearer staff-token-anna"}
A4 = (595.28, 841.89)  # points, as the generated invoices are laid out


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a PDF with a text layer must not be OCR'd")

    monkeypatch.setattr(ocr, "submit", refuse)


def inside(box: FieldBox) -> bool:
    return 0 <= box.x0 < box.x1 <= 1 and 0 <= box.y0 < box.y1 <= 1


# --- pure box arithmetic ------------------------------------------------------------------


BOX = {"page": 1, "x0": 60, "top": 80, "x1": 300, "bottom": 100}


def test_box_fraction_divides_by_its_own_page_size():
    sizes = [(600.0, 800.0), (1200.0, 400.0)]
    assert box_fraction(BOX, sizes) == FieldBox(page=1, x0=0.1, y0=0.1, x1=0.5, y1=0.125)
    # The same spot on a page of another size is another fraction of it.
    assert box_fraction({**BOX, "page": 2}, sizes) == FieldBox(
        page=2, x0=0.05, y0=0.2, x1=0.25, y1=0.25
    )


def test_box_fraction_clamps_to_the_page():
    sizes = [(600.0, 800.0)]
    wide = box_fraction({**BOX, "x0": -30, "x1": 9000, "bottom": 5000}, sizes)
    assert wide == FieldBox(page=1, x0=0.0, y0=0.1, x1=1.0, y1=1.0)


@pytest.mark.parametrize(
    "box",
    [
        {**BOX, "page": 2},  # beyond the last page
        {**BOX, "page": 0},  # would wrap around to the last page
        {**BOX, "page": -1},
        {**BOX, "x1": 10},  # inverted
        {**BOX, "top": 900, "bottom": 950},  # wholly below the page: nothing left
        {"page": 1, "x0": 60},  # incomplete
        {**BOX, "x0": "left"},  # nonsense
    ],
    ids=["beyond", "zero", "negative", "inverted", "off-page", "incomplete", "nonsense"],
)
def test_box_fraction_is_none_where_there_is_no_spot(box: dict[str, Any]):
    assert box_fraction(box, [(600.0, 800.0)]) is None


def test_a_page_of_unknown_size_has_no_box():
    assert box_fraction(BOX, [(0.0, 0.0)]) is None
    assert box_fraction(BOX, []) is None
    assert not sizes_complete([(600.0, 800.0), (0.0, 0.0)])
    assert not sizes_complete([])
    assert sizes_complete([(600.0, 800.0)])


def test_stored_page_sizes_come_back_from_json_and_older_readings_have_none():
    assert stored_page_sizes({"page_sizes": [[595.28, 841.89]]}) == [A4]
    assert stored_page_sizes({"pages": 1}) == []  # stored before sizes were kept
    assert stored_page_sizes({"page_sizes": [["wide", 3]]}) == []
    assert stored_page_sizes(None) == []


def stored(**extra: Any) -> dict[str, Any]:
    """A stored extraction as `Extraction.public_json()` writes it."""
    extraction = Extraction(
        total=Decimal("1200.70"),
        currency="CHF",
        invoice_number="R-1",
        text_source=TextSource.TEXT_LAYER,
        pages=1,
        confidence={"total": 0.93, "currency": 0.9, "invoice_number": 0.8},
        sources={
            "total": TextSource.TEXT_LAYER,
            "currency": TextSource.TEXT_LAYER,
            "invoice_number": TextSource.CORRECTED,
        },
        positions={"total": Box(page=1, x0=59.528, top=84.189, x1=297.64, bottom=168.378)},
        **extra,
    )
    return extraction.public_json()


def test_with_fields_adds_each_field_and_keeps_what_was_stored():
    data = stored(page_sizes=[A4])
    shown = with_fields(data)
    assert {k: v for k, v in shown.items() if k != "fields"} == data  # nothing removed
    assert list(shown["fields"]) == list(SHOWN_FIELDS)  # the same keys on every document
    assert shown["fields"]["total"] == {
        "value": "1200.70",
        "confidence": 0.93,
        "source": "text_layer",
        "box": {"page": 1, "x0": 0.1, "y0": 0.1, "x1": 0.5, "y1": 0.2},
    }
    assert shown["fields"]["invoice_number"]["source"] == "corrected"
    assert shown["fields"]["invoice_number"]["box"] is None  # read from no spot
    # A field that was not read has nothing it came from.
    assert shown["fields"]["supplier_iban"] == {
        "value": None,
        "confidence": None,
        "source": None,
        "box": None,
    }


def test_with_fields_without_page_sizes_has_no_box_but_keeps_the_source():
    shown = with_fields(stored())  # a reading stored before sizes were kept
    assert shown["fields"]["total"]["box"] is None
    assert shown["fields"]["total"]["source"] == "text_layer"
    assert shown["fields"]["total"]["value"] == "1200.70"


def test_a_correction_in_the_history_names_the_field_corrected():
    data = stored(page_sizes=[A4])
    data["sources"].pop("invoice_number")  # an older correction did not say so itself
    shown = with_fields(data, corrected={"invoice_number", "total"})
    assert shown["fields"]["invoice_number"]["source"] == "corrected"
    assert shown["fields"]["total"]["source"] == "corrected"
    assert shown["fields"]["currency"]["source"] == "text_layer"


# --- page sizes kept at reading time ----------------------------------------------------


def page(number: int, width: float, height: float) -> PageText:
    return PageText(number=number, width=width, height=height, text="")


def test_page_sizes_by_number_with_unread_pages_unknown():
    reading = Reading(pages=[page(2, 595.2756, 841.8898)], page_count=3)
    assert page_sizes(reading) == [(0.0, 0.0), A4, (0.0, 0.0)]
    assert page_sizes(Reading()) == []  # an e-invoice XML has no pages


@pytest.mark.usefixtures("no_ocr")
def test_an_extracted_invoice_keeps_its_page_sizes_and_a_total_box_inside_the_page():
    data, total = invoice_pdf(number=1)
    reading = read(data, "rechnung.pdf")
    extraction = extract_fields(reading, classify(reading))

    assert extraction.total == total
    assert extraction.pages == 1
    assert extraction.page_sizes == [A4]
    box = box_fraction(extraction.positions["total"].model_dump(), extraction.page_sizes)
    assert box is not None and box.page == 1 and inside(box)
    # The box is where the total is printed: the amount's word lies in it.
    words = [w for w in reading.pages[0].words if w.text == chf(total)]
    assert words
    assert any(
        box.x0 < (w.x0 + w.x1) / 2 / A4[0] < box.x1
        and box.y0 < (w.top + w.bottom) / 2 / A4[1] < box.y1
        for w in words
    )
    # Stored as JSON (the extraction row, `fiduflow extract --json`) and read back.
    again = Extraction.model_validate(extraction.public_json())
    assert again.page_sizes == [A4]
    # A reading from the cache (stored as JSON) gives the same sizes.
    cached = Reading.model_validate(reading.model_dump(mode="json"))
    assert extract_fields(cached, classify(cached)).page_sizes == [A4]


# --- the document resource over HTTP ------------------------------------------------------


@dataclass
class Rig:
    http: TestClient
    firm: Firm
    document_id: int
    total: Decimal

    def document(self) -> dict[str, Any]:
        answer = self.http.get(f"/api/v1/documents/{self.document_id}", headers=STAFF)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def forget_page_sizes(self) -> None:
        """As a reading stored before page sizes were kept."""
        with self.firm.db.session() as session:
            row = session.get(ExtractionRow, self.document_id)
            assert row is not None
            row.data = {k: v for k, v in row.data.items() if k != "page_sizes"}


@pytest.fixture
def rig(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Rig]:
    firm = make_firm(db, fs_store, settings)
    data, total = invoice_pdf("C02", number=1, seed=11)
    document_id = firm.deliver("C02", data, "Gloor.pdf")
    with TestClient(create_app(db, fs_store, settings, None)) as http:
        yield Rig(http, firm, document_id, total)


def test_the_document_resource_has_pages_and_where_the_total_was_read(rig: Rig):
    document = rig.document()

    assert document["pages"] == 1
    extraction = document["extraction"]
    total = extraction["fields"]["total"]
    assert total["value"] == str(rig.total) == extraction["total"]
    assert total["source"] == "text_layer"
    assert 0 < total["confidence"] <= 1
    box = FieldBox.model_validate(total["box"])
    assert box.page == 1 and inside(box)
    # What `fiduflow extract` prints is all still there, next to the fields.
    assert extraction["page_sizes"] == [list(A4)]
    assert {"total", "confidence", "positions", "sources", "text_source"} <= set(extraction)
    # The list route shows the same resource.
    listed = rig.http.get("/api/v1/documents", headers=STAFF).json()
    assert [d for d in listed if d["id"] == rig.document_id] == [document]


def test_the_workspace_boxes_come_from_the_kept_sizes_without_opening_the_original(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
):
    class NoOriginal:
        def sizes(self, data: bytes, media_type: str) -> list[tuple[float, float]]:
            raise AssertionError("the original must not be opened for its page sizes")

    monkeypatch.setattr(rig.http.app.state.workspace, "renderer", NoOriginal())
    monkeypatch.setattr(workspace_documents, "_SIZES", type(workspace_documents._SIZES)())

    fields = rig.http.get(f"/api/v1/documents/{rig.document_id}/fields", headers=STAFF).json()

    assert fields["pages"] == 1 and fields["page_sizes"] == [list(A4)]
    total = next(f for f in fields["fields"] if f["name"] == "total")
    assert total["box"] == rig.document()["extraction"]["fields"]["total"]["box"]
    assert total["box"] is not None


def test_an_older_reading_has_no_box_in_the_resource_and_the_workspace_falls_back(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
):
    rig.forget_page_sizes()
    # Nothing measured yet: the workspace must measure the original itself.
    monkeypatch.setattr(workspace_documents, "_SIZES", type(workspace_documents._SIZES)())

    document = rig.document()

    total = document["extraction"]["fields"]["total"]
    assert total["box"] is None
    assert total["source"] == "text_layer" and total["value"] == str(rig.total)
    assert document["pages"] == 1
    fields = rig.http.get(f"/api/v1/documents/{rig.document_id}/fields", headers=STAFF).json()
    shown = next(f for f in fields["fields"] if f["name"] == "total")
    [(width, height)] = fields["page_sizes"]  # measured on the original by the renderer
    assert (width, height) == (pytest.approx(A4[0], abs=0.01), pytest.approx(A4[1], abs=0.01))
    assert shown["box"] is not None and inside(FieldBox.model_validate(shown["box"]))
