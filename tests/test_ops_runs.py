"""What operators see of a document's run: its name and tags, the OCR tag and its limit.

- (a document's own run, started by a feeder: tests/test_feeder.py)
- the scheduled `process-inbox` sweep: registered with its schedule, its due runs run by
  the warm worker of `fiduflow serve` (no runner process), each once, runs missed while
  serve was down caught up by one, the schedule paused when serve stops; runs a previous
  serve left running in its process are marked Crashed at start;
- the run is named `<client>-<document id>-<filename>` and gets the document type as a tag;
- the read step of a scan carries the `ocr` tag (tag concurrency limit) and a time limit;
  a text PDF's does not;
- `fiduflow serve` / `fiduflow worker` create the `ocr` limit, never change one set.
"""

import asyncio
import contextlib

import pytest

from flows import pipeline, prefect_env
from flows.process_document import process_document
from storage.tables import DocumentRow
from tests.factories import invoice_pdf, scan_png, take_in
from tests.test_ops_support import prefect_call, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]


@pytest.fixture(scope="module")
def process_document_deployment(prefect_harness):
    from flows.deployments import by_name, runner_deployment

    return runner_deployment(by_name("process-document")).apply()


def test_serve_takes_the_sweeps_scheduled_runs_itself(prefect_harness, runtime, load_firm):
    from datetime import UTC, datetime, timedelta

    from prefect.states import Scheduled

    from flows.deployments import by_name
    from flows.pipeline import process_mark
    from flows.warm_worker import CAUGHT_UP_MESSAGE, SWEEPS, WarmWorker

    assert SWEEPS == ("process-inbox", "send-outbox")
    load_firm()
    document_id = take_in(runtime, "C01", invoice_pdf("C01", number=31)[0], filename="rg-31.pdf")
    worker = WarmWorker([by_name("process-inbox")], limit=2, pause_on_stop=True)
    worker.register()  # what start() does but the polling thread: this test polls
    try:
        [deployment] = [
            d for d in prefect_call(lambda c: c.read_deployments()) if d.name == "process-inbox"
        ]
        assert [s.schedule.cron for s in deployment.schedules] == ["*/5 * * * *"]

        def new_run(at: datetime):
            return prefect_call(
                lambda c: c.create_flow_run_from_deployment(
                    deployment.id, state=Scheduled(scheduled_time=at)
                )
            )

        missed = new_run(datetime.now(UTC) - timedelta(minutes=10))  # serve was down
        due = new_run(datetime.now(UTC) - timedelta(seconds=1))
        later = new_run(datetime.now(UTC) + timedelta(hours=1))
        assert worker.claim_due() >= 1
        assert worker.claim_due() == 0  # nothing runs twice

        skipped = prefect_call(lambda c: c.read_flow_run(missed.id)).state
        assert skipped is not None and skipped.is_cancelled()
        assert skipped.message == CAUGHT_UP_MESSAGE

        def finished():
            run = prefect_call(lambda c: c.read_flow_run(due.id))
            return run.state is not None and run.state.is_final() and run

        ran = wait_for(finished, timeout=60)
        assert ran and ran.state.is_completed()
        assert ran.infrastructure_pid == process_mark()  # run here, no process of its own
        waiting = prefect_call(lambda c: c.read_flow_run(later.id))
        assert waiting.state is not None and waiting.state.is_scheduled()
        with runtime.db.session() as session:
            assert session.get(DocumentRow, document_id).state == "routed"
    finally:
        worker.stop()
    # As the runner does for its deployments when serve stops.
    assert prefect_call(lambda c: c.read_deployment(deployment.id)).paused


def test_serve_marks_the_runs_a_previous_serve_left_running_crashed(
    process_document_deployment, runtime, load_firm
):
    from prefect.states import Pending, Running

    from flows.in_process import ORPHAN_MESSAGE, crash_orphans

    def run_in(state, *, pid: str | None = None, number: int):
        async def create(c):
            run = await c.create_flow_run_from_deployment(
                process_document_deployment, parameters={"document_id": 10_000 + number}
            )
            await c.set_flow_run_state(run.id, state, force=True)
            if pid is not None:
                await c.update_flow_run(run.id, infrastructure_pid=pid)
            return run.id

        return prefect_call(create)

    left_running = run_in(Running(), number=1)
    left_pending = run_in(Pending(), number=2)
    in_a_process = run_in(Running(), pid="4242", number=3)  # a runner's: may still finish
    scheduled = prefect_call(
        lambda c: c.create_flow_run_from_deployment(
            process_document_deployment, parameters={"document_id": 10_004}
        )
    ).id

    assert crash_orphans(["process-document", "no-such-deployment"]) >= 2
    states = {
        i: prefect_call(lambda c, i=i: c.read_flow_run(i)).state
        for i in (left_running, left_pending, in_a_process, scheduled)
    }
    assert states[left_running].is_crashed() and states[left_pending].is_crashed()
    assert states[left_running].message == ORPHAN_MESSAGE
    assert states[in_a_process].is_running()
    assert states[scheduled].is_scheduled()
    assert crash_orphans(["process-document"]) == 0  # nothing left behind now


def test_document_run_is_named_and_tagged_with_its_type(prefect_harness, runtime, load_firm):
    load_firm()
    document_id = take_in(runtime, "C02", invoice_pdf("C02", number=3)[0], filename="rg-3.pdf")

    state = asyncio.run(process_document(document_id, return_state=True))

    run_id = state.state_details.flow_run_id
    run = prefect_call(lambda c: c.read_flow_run(run_id))
    assert run.name == f"C02-{document_id}-rg-3.pdf"
    type_tags = [t for t in run.tags if t.startswith("type:")]
    assert len(type_tags) == 1  # added once classified
    doc_type = state.result().doc_type
    assert doc_type is None or type_tags == [f"type:{doc_type}"]


def test_scans_are_read_under_the_ocr_tag_with_the_readers_own_time_limit(runtime, load_firm):
    load_firm()
    text_pdf = invoice_pdf("C02", number=4)[0]
    scan = scan_png()
    plain = pipeline.reader_for(text_pdf, "a" * 64)
    ocr = pipeline.reader_for(scan, "b" * 64)
    assert pipeline.OCR_TAG not in plain.tags and plain.timeout_seconds is None
    assert pipeline.OCR_TAG in ocr.tags
    # No Prefect time limit: on a worker thread Prefect cannot stop the step (it warns so);
    # the reader stops its own worker processes (tests/test_read_bounds.py).
    assert ocr.timeout_seconds is None
    assert ocr.name == "read-document"


def test_read_step_of_a_scan_runs_tagged(prefect_harness, runtime, load_firm):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    load_firm()
    document_id = take_in(runtime, "C02", scan_png(), filename="quittung.png")
    state = asyncio.run(process_document(document_id, return_state=True))
    run_id = state.state_details.flow_run_id

    def read_steps():
        runs = prefect_call(
            lambda c: c.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            )
        )
        return [r for r in runs if r.name.startswith("read-document")]

    [read] = wait_for(read_steps)
    assert pipeline.OCR_TAG in read.tags


def _drop_ocr_limit() -> None:
    from prefect.exceptions import ObjectNotFound

    async def drop(client):
        with contextlib.suppress(ObjectNotFound):
            await client.delete_concurrency_limit_by_tag("ocr")

    prefect_call(drop)


def test_ocr_concurrency_limit_is_created_when_absent(prefect_harness):
    _drop_ocr_limit()  # the harness is shared by the whole run
    try:
        assert prefect_env.ensure_ocr_limit(3) == prefect_env.OcrLimit(3, created=True)
        limit = prefect_call(lambda c: c.read_concurrency_limit_by_tag("ocr"))
        assert limit.concurrency_limit == 3
    finally:
        _drop_ocr_limit()


def test_ocr_concurrency_limit_an_operator_set_is_kept(prefect_harness):
    # `prefect concurrency-limit create ocr 8`; then a worker with 2 OCR processes starts.
    _drop_ocr_limit()
    prefect_call(lambda c: c.create_concurrency_limit(tag="ocr", concurrency_limit=8))
    try:
        assert prefect_env.ensure_ocr_limit(2) == prefect_env.OcrLimit(8, created=False)
        assert prefect_env.ensure_ocr_limit(2).value == 8  # and at every later start
        limit = prefect_call(lambda c: c.read_concurrency_limit_by_tag("ocr"))
        assert limit.concurrency_limit == 8
        [only] = [
            found
            for found in prefect_call(lambda c: c.read_concurrency_limits(limit=200, offset=0))
            if found.tag == "ocr"
        ]
        assert only.id == limit.id
    finally:
        _drop_ocr_limit()
