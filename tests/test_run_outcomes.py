"""A `process-document` run says what became of its document, as an operator sees it in
Prefect's UI without opening the run: its final state's message, a tag `outcome:…` to
filter by, and no plain green `Completed` for a file that could not be read (a state named
`Unreadable`) or a document that failed for good (Failed)."""

import asyncio
import hashlib

import pytest

from flows.process_document import DocumentFailed, process_document
from flows.runtime import Runtime, set_runtime
from storage.objects import original_key
from tests.factories import invoice_pdf, scan_png, take_in
from tests.test_ops_support import prefect_call

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]


def _run_of(state):  # type: ignore[no-untyped-def]
    return prefect_call(lambda c: c.read_flow_run(state.state_details.flow_run_id))


def _outcome_tags(run) -> list[str]:  # type: ignore[no-untyped-def]
    return [tag for tag in run.tags if tag.startswith("outcome:")]


def test_a_booked_document_says_which_booking(prefect_harness, runtime, load_firm):
    load_firm()
    document_id = take_in(runtime, "C02", invoice_pdf("C02", number=21)[0])  # offline client

    state = asyncio.run(process_document(document_id, return_state=True))

    [booking] = state.result().booking_ids
    assert state.is_completed() and state.name == "Completed"
    assert state.message == f"booked: booking #{booking} posted"
    run = _run_of(state)
    assert _outcome_tags(run) == ["outcome:booked"]
    assert run.state.message == state.message  # what the UI shows


def test_a_document_that_ended_in_a_task_says_which_task(prefect_harness, runtime, load_firm):
    load_firm()
    document_id = take_in(runtime, "C01", invoice_pdf("C01", number=22)[0])  # online client

    state = asyncio.run(process_document(document_id, return_state=True))

    [booking] = state.result().booking_ids
    assert state.message == f"routed: task release_invoice; booking #{booking} draft"
    assert _outcome_tags(_run_of(state)) == ["outcome:task"]


def test_an_unreadable_file_is_not_a_plain_completed_run(prefect_harness, runtime, load_firm):
    load_firm()
    broken = scan_png()[:60]  # a PNG cut off after its header
    document_id = take_in(runtime, "C02", broken, filename="foto.png")

    state = asyncio.run(process_document(document_id, return_state=True))

    assert state.is_completed() and state.name == "Unreadable"
    assert state.message.startswith("unreadable: the file could not be read (")
    assert state.message.endswith("; task unreadable")
    run = _run_of(state)
    assert run.state.name == "Unreadable"
    assert _outcome_tags(run) == ["outcome:unreadable"]
    # Called as a function, the flow still gives the outcome.
    assert state.result().task_kinds == ["unreadable"]


def _lose_original(runtime, data: bytes) -> None:  # type: ignore[no-untyped-def]
    (runtime.settings.objects_dir / original_key(hashlib.sha256(data).hexdigest())).unlink()


def test_a_document_not_finished_says_it_is_tried_again(prefect_harness, runtime, load_firm):
    load_firm()
    data = invoice_pdf("C02", number=23)[0]
    document_id = take_in(runtime, "C02", data)
    _lose_original(runtime, data)

    state = asyncio.run(process_document(document_id, return_state=True))

    assert state.is_completed()
    assert state.message.startswith("not finished, tried again later: ObjectMissing")
    assert _outcome_tags(_run_of(state)) == ["outcome:retry"]


def test_a_document_that_failed_for_good_is_a_failed_run(prefect_harness, runtime, load_firm):
    load_firm()
    set_runtime(
        Runtime(
            settings=runtime.settings.model_copy(update={"max_attempts": 1}),
            db=runtime.db,
            store=runtime.store,
        )
    )
    data = invoice_pdf("C02", number=24)[0]
    document_id = take_in(runtime, "C02", data)
    _lose_original(runtime, data)

    state = asyncio.run(process_document(document_id, return_state=True))

    assert state.is_failed()
    assert state.message.startswith("failed: ObjectMissing")
    assert "task processing_failed" in state.message
    assert f"`fiduflow reread {document_id}`" in state.message
    assert _outcome_tags(_run_of(state)) == ["outcome:failed"]
    with pytest.raises(DocumentFailed) as raised:
        state.result()
    assert raised.value.outcome.state.value == "failed"


@pytest.mark.parametrize(
    ("fields", "tag", "message"),
    [
        ({"state": "routed", "children": [8, 9]}, "split", "split into documents 8, 9"),
        ({"state": "duplicate"}, "duplicate", "duplicate"),
        ({"state": "routed", "skipped": True}, "skipped", "skipped: final already, or"),
        (
            {"state": "received", "error": "OperationalError: IBAN CH9300762011623852957"},
            "retry",
            "not finished, tried again later: OperationalError: IBAN <iban>",
        ),
    ],
)
def test_every_outcome_has_a_tag_and_a_message_without_document_content(fields, tag, message):
    from flows.artifacts import outcome_message, outcome_tag
    from flows.steps import Outcome

    outcome = Outcome(document_id=7, client_id="C01", **fields)
    assert outcome_tag(outcome) == tag
    assert outcome_message(outcome).startswith(message)
