"""`fiduflow worker` (flows/warm_worker.py): the deployments' runs executed warm.

- two workers share the `process-document` runs asked for (UI, API): each run once, in the
  workers' own process (no runner, no new process), never more at once than a worker's
  limit, every document routed once;
- a run cancelled through the API the UI uses stops before its next step, ends Cancelled
  with a word why, and gives its document back unprocessed, due again after a pause (not
  at the feeders' next look); then it is processed once;
- (a dead worker's documents and runs: tests/test_feeder.py)
"""

import threading
from datetime import timedelta

import pytest

from flows import pipeline
from flows.deployments import by_name
from flows.pipeline import process_mark
from flows.process_document import CANCELLED_MESSAGE
from flows.warm_worker import WarmWorker
from storage.tables import DocumentRow, utcnow
from tests.factories import invoice_pdf, take_in
from tests.test_ops_support import document_outcomes, prefect_call, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]


_asked: dict[int, object] = {}  # document id → the run this test asked for


def _ask_run(document_id: int) -> None:
    """A `process-document` run of the document, Scheduled now: what Run or Retry in the UI
    (or the API it uses) asks for."""

    async def create(c):
        deployment = await c.read_deployment_by_name("process-document/process-document")
        run = await c.create_flow_run_from_deployment(
            deployment.id, parameters={"document_id": document_id}
        )
        return run.id

    _asked[document_id] = prefect_call(create)


def _run_of(document_id: int):
    return prefect_call(lambda c: c.read_flow_run(_asked[document_id]))


def _pause_passed(runtime, ids: list[int]) -> None:
    """Documents given back after a cancel wait `CANCELLED_PAUSE`; here it has passed."""
    with runtime.db.session() as session:
        for document_id in ids:
            row = session.get(DocumentRow, document_id)
            assert row.next_attempt_at > utcnow() + timedelta(minutes=4)
            row.next_attempt_at = utcnow()


def _final(document_id: int):
    run = _run_of(document_id)
    return run if run is not None and run.state is not None and run.state.is_final() else None


def _bookings(runtime, document_id: int) -> int:
    return document_outcomes(runtime, [document_id])[document_id][2]


def test_two_workers_share_the_runs_asked_for_each_once(prefect_harness, runtime, load_firm):
    load_firm()
    ids = [
        take_in(runtime, "C02", invoice_pdf("C02", number=70 + n)[0], filename=f"rg-{70 + n}.pdf")
        for n in range(6)
    ]
    spec = by_name("process-document")
    workers = [WarmWorker([spec], limit=2, poll_s=0.2) for _ in range(2)]
    workers[0].register()  # a worker has started once: the deployment exists
    for document_id in ids:
        _ask_run(document_id)
    peak = [0]
    watching = threading.Event()

    def watch() -> None:
        while not watching.wait(0.01):
            peak[0] = max(peak[0], *(w.in_flight() for w in workers))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for worker in workers:
            worker.start()
        assert wait_for(lambda: all(_final(i) for i in ids), timeout=240, every=0.5)
    finally:
        for worker in workers:
            worker.stop()
        watching.set()
        watcher.join()

    assert 1 <= peak[0] <= 2  # never more at once than a worker's limit
    for document_id in ids:
        run = _final(document_id)
        assert run.state.is_completed(), run.state
        assert run.infrastructure_pid == process_mark()  # run here, in this process
        assert run.name == f"C02-{document_id}-rg-{run.name.rsplit('-', 1)[1]}"
        assert document_outcomes(runtime, [document_id])[document_id] == ("routed", 1, 1)


def test_a_run_cancelled_from_the_ui_gives_its_document_back(
    prefect_harness, runtime, load_firm, monkeypatch
):
    from prefect.runtime import flow_run
    from prefect.states import Cancelling

    from flows.process_batch import process_inbox

    load_firm()
    document_id = take_in(runtime, "C02", invoice_pdf("C02", number=90)[0], filename="rg-90.pdf")
    worker = WarmWorker([by_name("process-document")], limit=1, poll_s=0.2)
    worker.register()
    _ask_run(document_id)
    reader_for = pipeline.reader_for
    cancelled: list[object] = []

    def cancel_while_reading(data: bytes, sha256: str):  # type: ignore[no-untyped-def]
        # What the UI's Cancel does: the run's state set to Cancelling through the API.
        from prefect.client.orchestration import get_client

        run_id = flow_run.id
        with get_client(sync_client=True) as client:  # the flow's event loop is running
            client.set_flow_run_state(run_id, Cancelling())
        cancelled.append(run_id)
        return reader_for(data, sha256)

    monkeypatch.setattr(pipeline, "reader_for", cancel_while_reading)
    worker.start()
    try:
        run = wait_for(lambda: _final(document_id), timeout=120, every=0.5)
    finally:
        worker.stop()
    monkeypatch.setattr(pipeline, "reader_for", reader_for)

    assert cancelled == [str(run.id)]
    assert run.state.is_cancelled() and run.state.message == CANCELLED_MESSAGE
    with runtime.db.session() as session:
        row = session.get(DocumentRow, document_id)
        assert (row.state, row.attempts, row.lease_owner) == ("received", 0, None)
    assert _bookings(runtime, document_id) == 0

    # Processed later, once: not at the next look, after the pause.
    import asyncio

    assert asyncio.run(process_inbox()) == []
    _pause_passed(runtime, [document_id])
    outcomes = asyncio.run(process_inbox())
    assert [o.document_id for o in outcomes if o.document_id == document_id] == [document_id]
    assert document_outcomes(runtime, [document_id])[document_id] == ("routed", 1, 1)


def test_a_cancelled_sweep_gives_back_what_it_has_not_done(
    prefect_harness, runtime, load_firm, monkeypatch
):
    """Cancel a batch (`process-inbox`) mid-run through the API: it ends Cancelled, every
    document is either done once or back in `received` untouched; the next sweep does the
    rest — none lost, none twice."""
    import asyncio
    import time

    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run
    from prefect.states import Cancelling

    from flows import steps
    from flows.process_batch import CANCEL_CHECK_S, process_inbox

    load_firm()
    ids = [
        take_in(runtime, "C02", invoice_pdf("C02", number=120 + n)[0], filename=f"s-{n}.pdf")
        for n in range(8)
    ]
    load_original = steps.load_original.fn
    asked: list[object] = []

    def cancel_at_first_document(sha256: str) -> bytes:
        if not asked:
            asked.append(flow_run.id)
            with get_client(sync_client=True) as client:  # what the UI's Cancel does
                client.set_flow_run_state(flow_run.id, Cancelling())
            time.sleep(CANCEL_CHECK_S + 0.2)  # past the batch's next look at its state
        return load_original(sha256)

    monkeypatch.setattr(steps.load_original, "fn", cancel_at_first_document)
    state = asyncio.run(process_inbox(return_state=True))
    monkeypatch.setattr(steps.load_original, "fn", load_original)

    assert state.is_cancelled() and "given back unprocessed" in state.message

    after_cancel = document_outcomes(runtime, ids)
    back = [i for i, (state_, _, _) in after_cancel.items() if state_ == "received"]
    assert back, "the cancel came before most documents started"
    for i, seen in after_cancel.items():
        assert seen == (("received", 0, 0) if i in back else ("routed", 1, 1))

    _pause_passed(runtime, back)
    asyncio.run(process_inbox())  # the next sweep
    assert set(document_outcomes(runtime, ids).values()) == {("routed", 1, 1)}


def test_a_run_that_cannot_ask_prefect_goes_on(monkeypatch) -> None:
    """Prefect away for a moment is no cancel: the document is processed, not failed."""
    from flows import cancel

    def away(run_id: object) -> bool:
        raise ConnectionError("Prefect is away")

    monkeypatch.setattr(cancel, "_cancelling", away)
    check = cancel.RunCancel()
    assert check.run_id is None and check() is False  # outside a run: nothing to ask
    check.run_id = "some-run"  # as inside one
    assert check() is False and not check.seen
