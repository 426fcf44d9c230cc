"""Polyglots: an executable or a web page with `%PDF-` in its first kilobyte is not a PDF,
and whatever is taken in is kept and served under a name that ends in its real type's
extension — on every channel (app, web, mail, `fiduflow process`)."""

from collections.abc import Iterator

import pypdfium2 as pdfium
import pytest
from sqlalchemy import update

from domain.enums import Channel, MediaType, TaskKind
from domain.filetype import sniff
from domain.settings import Settings
from ingest.filenames import safe_filename
from ingest.intake import IntakeRefused, Submission, intake, intake_mail
from ingest.mime import parse_mail
from ingest.smtp import mail_submission
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import DocumentRow, TaskRow
from tests.factories import firm_with_passwords, load
from tests.intake_helpers import mail, structured_pdf, wire
from tests.test_api import HANS, Api, _csrf, _login, _serve

pytestmark = [pytest.mark.timeout(120)]

EXE_HEAD = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(48)
# What a polyglot looks like: a program or a page, with a PDF header a reader would find.
EXE_POLYGLOT = EXE_HEAD + b"This program cannot be run in DOS mode.\n%PDF-1.7\n" + bytes(300)
HTML_POLYGLOT = (
    b"<!doctype html><html><body><script>alert(document.cookie)</script>"
    b"<!-- %PDF-1.4 --></body></html>"
)
# A real PDF behind junk: what some scanners and mail gateways produce.
PDF_AFTER_JUNK = EXE_HEAD + structured_pdf()


def _pdfium_opens(data: bytes) -> bool:
    try:
        pdfium.PdfDocument(data).close()
    except pdfium.PdfiumError:
        return False
    return True


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (EXE_POLYGLOT, None),
        (HTML_POLYGLOT, None),
        (b"\r\n\xef\xbb\xbfjunk\n" + structured_pdf(), MediaType.PDF),
        (PDF_AFTER_JUNK, MediaType.PDF),
        (EXE_HEAD + structured_pdf(xref_stream=True), MediaType.PDF),
        # A trailer-less tail or a startxref into nowhere is no structure.
        (EXE_HEAD + b"%PDF-1.4\n1 0 obj<<>>endobj\nstartxref\n0\n%%EOF\n", None),
        (EXE_HEAD + b"%PDF-1.4\nstartxref\n99999\n%%EOF\n", None),
    ],
)
def test_a_late_pdf_header_counts_only_with_a_pdf_behind_it(
    data: bytes, expected: MediaType | None
) -> None:
    assert sniff(data) == expected
    # Our verdict is the PDF reader's: what we take as a PDF, pdfium opens, and vice versa.
    assert _pdfium_opens(data) == (expected is MediaType.PDF)


@pytest.mark.parametrize(
    ("raw", "media_type", "expected"),
    [
        ("setup.exe", MediaType.PDF, "setup.exe.pdf"),
        ("poly.html", MediaType.PDF, "poly.html.pdf"),
        ("photo.png", MediaType.PDF, "photo.png.pdf"),
        ("Rechnung 2026.03", MediaType.PDF, "Rechnung 2026.03.pdf"),
        ("invoice.PDF", MediaType.PDF, "invoice.PDF"),
        ("scan.jpeg", MediaType.JPEG, "scan.jpeg"),
        ("scan.pdf", MediaType.JPEG, "scan.pdf.jpg"),
        ("page.tiff", MediaType.TIFF, "page.tiff"),
        ("IMG_0001.HEIF", MediaType.HEIC, "IMG_0001.HEIF"),
        ("rechnung.svg", MediaType.XML, "rechnung.svg.xml"),
    ],
)
def test_the_kept_name_ends_in_the_real_types_extension(
    raw: str, media_type: MediaType, expected: str
) -> None:
    assert safe_filename(raw, media_type=media_type) == expected
    assert safe_filename(expected, media_type=media_type) == expected


# --- `fiduflow process` and every other caller of `intake` ------------------------------


def test_intake_refuses_a_polyglot_and_renames_a_real_pdf(
    db: Database, fs_store: FilesystemObjectStore, load_firm
) -> None:
    load_firm()

    def take(data: bytes, filename: str) -> int:
        submission = Submission(
            client_id="C01", channel=Channel.BATCH, data=data, filename=filename
        )
        return intake(db, fs_store, submission, max_bytes=10**6).document_id

    with pytest.raises(IntakeRefused) as refused:
        take(EXE_POLYGLOT, "setup.exe")
    assert refused.value.kind == "unsupported_type"
    assert "PDF header" in refused.value.reason
    document_id = take(PDF_AFTER_JUNK, "setup.exe")
    with db.session() as session:
        row = session.get(DocumentRow, document_id)
        assert (row.filename, row.media_type) == ("setup.exe.pdf", "application/pdf")


# --- mail --------------------------------------------------------------------------


def test_mail_attachments_polyglot_skipped_real_pdf_renamed(
    db: Database, fs_store: FilesystemObjectStore, load_firm
) -> None:
    load_firm()
    raw = wire(
        mail(
            attachments=[
                ("poly.html", HTML_POLYGLOT, "text/html"),
                ("setup.exe", EXE_POLYGLOT, "application/octet-stream"),
            ]
        )
    )
    [empty] = intake_mail(
        db, fs_store, mail_submission(parse_mail(raw), raw, ["C01"], None), max_bytes=10**6
    )
    assert empty.documents == []
    with db.session() as session:
        task = session.get(TaskRow, empty.task_id)
        assert task.kind == TaskKind.MAIL_WITHOUT_DOCUMENT.value
        assert "setup.exe (not a readable PDF" in task.reason
    raw = wire(mail(attachments=[("setup.exe", PDF_AFTER_JUNK, "application/octet-stream")]))
    [taken] = intake_mail(
        db, fs_store, mail_submission(parse_mail(raw), raw, ["C01"], None), max_bytes=10**6
    )
    with db.session() as session:
        row = session.get(DocumentRow, taken.documents[0].document_id)
        assert (row.filename, row.media_type) == ("setup.exe.pdf", "application/pdf")


# --- app and web upload, and serving the original --------------------------------------


@pytest.fixture
def web_api(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
) -> Iterator[Api]:
    load(sqlite_db, firm_with_passwords())
    yield from _serve(sqlite_db, fs_store, settings)


def test_app_upload_refuses_polyglots_and_serves_pdfs_as_pdfs(web_api: Api) -> None:
    with web_api.client() as http:
        for name, data in (("setup.exe", EXE_POLYGLOT), ("poly.html", HTML_POLYGLOT)):
            refused = http.post(
                "/api/v1/documents", headers=HANS, files={"file": (name, data, "text/html")}
            )
            assert refused.status_code == 415, name
            assert "PDF header" in refused.json()["detail"]
        taken = http.post(
            "/api/v1/documents",
            headers=HANS,
            files={"file": ("setup.exe", PDF_AFTER_JUNK, "application/x-msdownload")},
        )
        assert taken.status_code == 201
        assert taken.json()["filename"] == "setup.exe.pdf"
        original = http.get(f"/api/v1/documents/{taken.json()['id']}/original", headers=HANS)
    assert original.content == PDF_AFTER_JUNK
    assert original.headers["content-type"] == "application/pdf"
    disposition = original.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="setup.exe.pdf"' in disposition


def test_an_original_kept_under_an_old_name_is_served_under_a_safe_one(web_api: Api) -> None:
    """Rows from before this fix keep `poly.html`; the download still ends in `.pdf`."""
    with web_api.client() as http:
        taken = http.post(
            "/api/v1/documents",
            headers=HANS,
            files={"file": ("x.pdf", structured_pdf(), "application/pdf")},
        ).json()
        with web_api.db.session() as session:
            session.execute(
                update(DocumentRow)
                .where(DocumentRow.id == taken["id"])
                .values(filename="poly.html")
            )
        original = http.get(f"/api/v1/documents/{taken['id']}/original", headers=HANS)
    assert original.status_code == 200
    assert original.headers["content-type"] == "application/pdf"
    assert 'filename="poly.html.pdf"' in original.headers["content-disposition"]


def test_web_upload_refuses_polyglots_and_renames_real_pdfs(web_api: Api) -> None:
    with web_api.client() as http:
        _login(http, "hans", "hans-pw-123456")
        token = _csrf(http.get("/upload").text)
        response = http.post(
            "/upload",
            headers={"Accept": "application/json", "X-CSRF-Token": token},
            files=[
                ("files", ("poly.html", HTML_POLYGLOT, "text/html")),
                ("files", ("setup.exe", PDF_AFTER_JUNK, "application/octet-stream")),
            ],
        )
    assert response.status_code == 201
    assert [d["filename"] for d in response.json()["documents"]] == ["setup.exe.pdf"]
    [error] = response.json()["errors"]
    assert (error["filename"], error["status"]) == ("poly.html", 415)
