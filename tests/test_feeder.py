"""The feeder (flows/feeder.py): where due documents become work, in serve and every worker.

- quiet: each due document gets a `process-document` run of its own, executed in this
  process, claimed before the run was asked for (attempts 1, one booking);
- busy: more due than free run slots → one `process-backlog` batch, no run per document;
- two feeders (two workers) on one burst: every document processed once;
- Prefect refusing the run: the claimed document is given back, the attempt not counted;
- a run an operator cancelled is not taken again by the next beat (it pauses);
- a dead worker's document (its lease ran out) is taken up at the next beat, once, and the
  run the dead worker left Running is marked Crashed, saying why.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from flows.deployments import by_name, runner_deployment
from flows.feeder import DocumentFeeder
from flows.pipeline import CANCELLED_PAUSE, process_mark
from storage import documents as documents_repo
from storage.tables import DocumentRow, utcnow
from tests.factories import invoice_pdf, take_in
from tests.test_ops_support import document_outcomes, prefect_call, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]


def _register() -> None:
    runner_deployment(by_name("process-document")).apply()


def _document_runs(document_id: int, since: datetime) -> list:
    """This test's runs of the document (the Prefect server is shared by the database
    variants, whose document ids start at 1 each)."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    runs = prefect_call(
        lambda c: c.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["process-document"]))
        )
    )
    return [
        r for r in runs if r.parameters.get("document_id") == document_id and r.created >= since
    ]


def _one_beat(max_runs: int) -> str:
    """What one look of a feeder chose (`runs`, `batch`), once the work it started is done.
    No loop (a long poll): the beat is made here."""
    feeder = DocumentFeeder(max_runs=max_runs, poll_s=60)
    try:
        chosen = feeder.beat()
        assert wait_for(lambda: feeder.in_flight() == 0, timeout=180)
    finally:
        feeder.stop()
    return chosen


def _documents(runtime, numbers: range) -> list[int]:
    return [
        take_in(runtime, "C02", invoice_pdf("C02", number=n)[0], filename=f"rg-{n}.pdf")
        for n in numbers
    ]


def test_quiet_documents_get_a_run_each_claimed_before_it_starts(
    prefect_harness, runtime, load_firm
):
    load_firm()
    _register()
    since = datetime.now(UTC)
    ids = _documents(runtime, range(200, 202))
    assert _one_beat(max_runs=2) == "runs"
    assert document_outcomes(runtime, ids) == {i: ("routed", 1, 1) for i in ids}
    for document_id in ids:
        runs = wait_for(
            lambda d=document_id: [r for r in _document_runs(d, since) if r.state.is_final()], 30
        )
        assert len(runs) == 1
        run = runs[0]
        assert run.state.is_completed(), run.state
        assert run.infrastructure_pid == process_mark()
        assert run.name.startswith(f"C02-{document_id}-")
        assert {"client:C02", "channel:email", "fiduflow", "outcome:booked"} <= set(run.tags)


def test_a_burst_goes_to_one_batch_not_a_run_per_document(prefect_harness, runtime, load_firm):
    load_firm()
    _register()
    since = datetime.now(UTC)
    ids = _documents(runtime, range(210, 215))
    feeder = DocumentFeeder(max_runs=2, poll_s=60)
    try:
        assert feeder.beat() == "batch"
        assert feeder.beat() == "idle"  # the batch takes what is due; no second one
        assert wait_for(lambda: feeder.in_flight() == 0, timeout=180)
    finally:
        feeder.stop()
    assert document_outcomes(runtime, ids) == {i: ("routed", 1, 1) for i in ids}
    assert all(_document_runs(i, since) == [] for i in ids)


def test_two_feeders_share_a_burst_each_document_once(prefect_harness, runtime, load_firm):
    load_firm()
    _register()
    ids = _documents(runtime, range(220, 228))
    feeders = [DocumentFeeder(max_runs=1, poll_s=0.1) for _ in range(2)]
    try:
        for feeder in feeders:
            feeder.start()
        done = wait_for(
            lambda: all(
                state == "routed" for state, _, _ in document_outcomes(runtime, ids).values()
            ),
            timeout=240,
            every=0.5,
        )
    finally:
        for feeder in feeders:
            feeder.stop()
    assert done
    assert document_outcomes(runtime, ids) == {i: ("routed", 1, 1) for i in ids}


def test_a_run_prefect_refuses_gives_its_document_back(prefect_harness, runtime, load_firm):
    from prefect.exceptions import PrefectHTTPStatusError

    load_firm()
    _register()
    [document_id] = _documents(runtime, range(230, 231))
    feeder = DocumentFeeder(max_runs=2, poll_s=60)
    feeder._deployment_id = uuid.uuid4()  # a deployment Prefect does not know
    try:
        with pytest.raises(PrefectHTTPStatusError, match="Deployment not found"):
            feeder.beat()
    finally:
        feeder.stop()
    with runtime.db.session() as session:
        row = session.get(DocumentRow, document_id)
        assert (row.state, row.attempts, row.lease_owner) == ("received", 0, None)


def test_a_document_given_back_after_a_cancel_waits_before_it_is_due(runtime, load_firm):
    load_firm()
    [document_id] = _documents(runtime, range(240, 241))
    lease = timedelta(seconds=30)
    with runtime.db.session() as session:
        assert documents_repo.claim(session, document_id, "host:1:run", lease)
        documents_repo.release(session, document_id, "host:1:run", again_after=CANCELLED_PAUSE)
    with runtime.db.session() as session:
        assert documents_repo.claimable_ids(session, 10) == []
        row = session.get(DocumentRow, document_id)
        assert row.state == "received" and row.attempts == 0
        assert row.next_attempt_at > utcnow() + CANCELLED_PAUSE - timedelta(seconds=30)


def test_a_dead_workers_document_is_taken_up_and_its_run_crashed(
    prefect_harness, runtime, load_firm
):
    from prefect.states import Running

    from flows.in_process import DEAD_WORKER_MESSAGE

    load_firm()
    _register()
    [document_id] = _documents(runtime, range(250, 251))
    with runtime.db.session() as session:  # a worker claimed it and died: its lease ran out
        row = session.get(DocumentRow, document_id)
        row.state, row.lease_owner, row.attempts = "processing", "deadhost:4242:9f3a", 1
        row.lease_until = utcnow() - timedelta(seconds=1)

    async def left_running(c):  # the dead worker's run of it, still Running in Prefect
        deployment = await c.read_deployment_by_name("process-document/process-document")
        run = await c.create_flow_run_from_deployment(
            deployment.id, parameters={"document_id": document_id}
        )
        await c.set_flow_run_state(run.id, Running(), force=True)
        await c.update_flow_run(run.id, infrastructure_pid="deadhost:4242")
        return run.id

    dead_run = prefect_call(left_running)
    assert _one_beat(max_runs=2) == "runs"
    state = prefect_call(lambda c: c.read_flow_run(dead_run)).state
    assert state.is_crashed() and state.message == DEAD_WORKER_MESSAGE
    assert document_outcomes(runtime, [document_id]) == {document_id: ("routed", 2, 1)}


def test_a_batch_cancelled_from_the_ui_gives_back_what_it_has_not_done(
    prefect_harness, runtime, load_firm, monkeypatch
):
    """Cancel a busy feeder's `process-backlog` run through the API the UI uses: it claims
    nothing more and ends Cancelled; every document is done once or back in `received`,
    unprocessed and paused; after the pause the next batch does the rest — none lost, none
    twice."""
    import time

    from prefect.runtime import flow_run
    from prefect.states import Cancelling

    from flows import steps
    from flows.prefect_env import thread_client
    from flows.process_batch import CANCEL_CHECK_S

    load_firm()
    _register()
    ids = _documents(runtime, range(260, 270))
    load_original = steps.load_original.fn
    cancelled: list[object] = []

    def cancel_at_first_document(sha256: str) -> bytes:
        if not cancelled:
            cancelled.append(flow_run.id)
            thread_client().set_flow_run_state(flow_run.id, Cancelling())  # the UI's Cancel
            time.sleep(CANCEL_CHECK_S + 0.2)  # past the batch's next look at its state
        return load_original(sha256)

    monkeypatch.setattr(steps.load_original, "fn", cancel_at_first_document)
    assert _one_beat(max_runs=0) == "batch"
    monkeypatch.setattr(steps.load_original, "fn", load_original)

    batch = prefect_call(lambda c: c.read_flow_run(cancelled[0]))
    assert batch.state.is_cancelled() and "given back unprocessed" in batch.state.message
    after = document_outcomes(runtime, ids)
    back = [i for i, (state, _, _) in after.items() if state == "received"]
    assert back, "the cancel came before most documents started"
    assert all(after[i] == (("received", 0, 0) if i in back else ("routed", 1, 1)) for i in ids)
    with runtime.db.session() as session:  # not due again at once: the pause
        assert documents_repo.claimable_ids(session, 50) == []
        for document_id in back:  # the pause has passed
            session.get(DocumentRow, document_id).next_attempt_at = utcnow()
    assert _one_beat(max_runs=0) == "batch"
    assert document_outcomes(runtime, ids) == {i: ("routed", 1, 1) for i in ids}
