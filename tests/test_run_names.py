"""Run names and logs show a document's file name redacted: no IBAN, AHV number, long
digit run or token a sender put into the name reaches Prefect's UI (DESIGN.md, "Rules of
the house": the client, the document id and a shortened, redacted file name)."""

import asyncio

import pytest

from flows.artifacts import RUN_NAME_FILENAME_CHARS, redact, redact_filename, run_filename
from flows.process_document import document_run_name, process_document
from tests.factories import take_in
from tests.intake_helpers import invoice_pdf
from tests.test_ops_support import prefect_call

AHV_DOTTED = "756.1234.5678.97"
AHV_PLAIN = "7561234567897"
IBAN = "CH9300762011623852957"
TOKEN = "tk7Hq2ZpL9xV4mN8rS3w"


@pytest.mark.parametrize(
    "text",
    [
        f"Lohnausweis {AHV_DOTTED}",
        f"AHV-Nr. {AHV_PLAIN} fehlt",
        "AHV 756 1234 5678 97",
        f"Lohn_{AHV_PLAIN}.pdf",
        f"Rechnung_{IBAN}.pdf",
    ],
)
def test_redact_hides_ahv_numbers_and_ibans_between_underscores(text: str) -> None:
    redacted = redact(text)
    for secret in (AHV_DOTTED, AHV_PLAIN, "5678", IBAN):
        assert secret not in redacted, redacted


@pytest.mark.parametrize(
    ("name", "hidden", "expected"),
    [
        (f"Lohn_{AHV_PLAIN}.pdf", AHV_PLAIN, "Lohn_<ahv>.pdf"),
        (f"Lohn {AHV_DOTTED}.pdf", AHV_DOTTED, "Lohn <ahv>.pdf"),
        (f"Rechnung_{IBAN}.pdf", IBAN, "Rechnung_<iban>.pdf"),
        ("Karte 4111111111111111.pdf", "4111111111111111", "Karte <number>.pdf"),
        (f"upload_{TOKEN}.pdf", TOKEN, "upload_<token>.pdf"),
    ],
)
def test_redact_filename_hides_numbers_and_tokens(name: str, hidden: str, expected: str) -> None:
    assert redact_filename(name) == expected
    assert hidden not in run_filename(name)


def test_redact_filename_keeps_what_operators_need() -> None:
    for name in ("Rechnung 2026-101.pdf", "scan_20260301.pdf", "Elektroinstallation.pdf"):
        assert redact_filename(name) == name


def test_run_filename_is_short_and_keeps_its_extension() -> None:
    name = f"Lohnabrechnung Muster Hans Maerz 2026 {AHV_DOTTED} final version.pdf"
    short = run_filename(name)
    assert len(short) == RUN_NAME_FILENAME_CHARS
    assert short.endswith("….pdf")
    assert short.startswith("Lohnabrechnung Muster")
    assert document_run_name("C01", 7, f"Lohn_{AHV_PLAIN}.pdf") == "C01-7-Lohn_<ahv>.pdf"


@pytest.mark.prefect
@pytest.mark.xdist_group("prefect")
def test_a_documents_run_name_is_redacted(prefect_harness, runtime, load_firm) -> None:
    load_firm()
    filename = f"Lohn_{AHV_PLAIN}_{IBAN}_{TOKEN}.pdf"
    document_id = take_in(runtime, "C02", invoice_pdf("RN-1"), filename=filename)

    state = asyncio.run(process_document(document_id, return_state=True))

    run = prefect_call(lambda c: c.read_flow_run(state.state_details.flow_run_id))
    assert run.name == f"C02-{document_id}-Lohn_<ahv>_<iban>_<token>.pdf"
    for secret in (AHV_PLAIN, IBAN, TOKEN):
        assert secret not in run.name


@pytest.mark.prefect
@pytest.mark.xdist_group("prefect")
def test_runs_a_schedule_or_an_operator_starts_are_named_not_random(
    prefect_harness, runtime, load_firm
) -> None:
    """Started by a schedule, the UI or `prefect deployment run`, a run is named after what it
    does (its parameters, else when it was due), not at random ("lean-macaw")."""
    import re

    from flows.close_period import close_period
    from flows.notify import send_outbox_flow

    load_firm()
    outbox = asyncio.run(send_outbox_flow(return_state=True))
    closing = asyncio.run(close_period("C02", "2026-01", return_state=True))

    def name(state) -> str:  # type: ignore[no-untyped-def]
        return prefect_call(lambda c: c.read_flow_run(state.state_details.flow_run_id)).name

    assert re.fullmatch(r"outbox-\d{4}-\d{2}-\d{2}-\d{4}", name(outbox)), name(outbox)
    assert name(closing) == "close-C02-2026-01"
