"""The dispatch of `fiduflow serve`, decision by decision, without Prefect: which document
gets a per-document run and which the batch worker, what the batch worker may claim
(offered ones at once; others only when no run is reserved for them and they are not
brand new), and that a claim stays exclusive whatever the timing — on SQLite and
PostgreSQL."""

from datetime import timedelta

import pytest

from domain.enums import DocumentState
from domain.settings import Settings
from flows import process_batch
from flows.dispatch import HybridDispatcher, make_dispatcher, via_deployment
from storage import documents as documents_repo
from storage.tables import DocumentRow, utcnow
from tests.factories import invoice_pdf, take_in


class Runs:
    def __init__(self, fail: bool = False):
        self.started: list[int] = []
        self.fail = fail

    def __call__(self, document_id: int) -> None:
        if self.fail:
            raise ConnectionError("Prefect is down")
        self.started.append(document_id)


def test_small_backlog_gets_runs_a_burst_goes_to_the_batch_worker():
    backlog = process_batch.Backlog()
    runs = Runs()
    dispatch = HybridDispatcher(backlog, max_runs=2, start_run=runs)
    for document_id in (1, 2, 3, 4):
        dispatch(document_id)
    assert runs.started == [1, 2]
    assert backlog.reserved_ids() == {1, 2}
    assert backlog.take_offered(10) == [3, 4]
    # While the batch worker holds documents, new ones join it, runs or not.
    backlog.release(1)
    backlog.release(2)
    backlog.set_holding(3)
    dispatch(5)
    assert runs.started == [1, 2] and backlog.take_offered(10) == [5]
    backlog.set_holding(0)
    dispatch(6)
    assert runs.started == [1, 2, 6]


def test_a_run_that_cannot_start_leaves_the_document_to_the_batch_worker():
    backlog = process_batch.Backlog()
    dispatch = HybridDispatcher(backlog, max_runs=2, start_run=Runs(fail=True))
    dispatch(7)
    assert backlog.reserved_ids() == set()
    assert backlog.take_offered(10) == [7]


def test_modes(tmp_path):
    backlog = process_batch.Backlog()
    settings = Settings(data_dir=tmp_path, dispatch="auto")
    assert isinstance(
        make_dispatcher(settings, server_reachable=True, backlog=backlog), HybridDispatcher
    )
    assert make_dispatcher(settings, server_reachable=True) is via_deployment  # smtp/api
    batch = settings.model_copy(update={"dispatch": "batch"})
    assert make_dispatcher(batch, server_reachable=True, backlog=backlog) == backlog.offer
    assert make_dispatcher(batch, server_reachable=True) is via_deployment
    none = settings.model_copy(update={"dispatch": "none"})
    assert make_dispatcher(none, server_reachable=True, backlog=backlog) is None
    with pytest.raises(ValueError, match="FIDUFLOW_DISPATCH"):
        make_dispatcher(settings.model_copy(update={"dispatch": "fast"}), server_reachable=True)


def _set(runtime, document_id: int, **values) -> None:
    with runtime.db.session() as s:
        row = s.get(DocumentRow, document_id)
        for key, value in values.items():
            setattr(row, key, value)


def test_what_the_batch_worker_may_claim(runtime, load_firm):
    load_firm()
    now = utcnow()
    ids = [take_in(runtime, "C02", invoice_pdf("C02", number=n, seed=31)[0]) for n in range(7)]
    fresh, old, reserved, retry_due, retry_later, orphaned, offered = ids
    for document_id in (old, reserved, orphaned):
        _set(runtime, document_id, received_at=now - timedelta(minutes=1))
    _set(runtime, retry_due, attempts=1, next_attempt_at=now - timedelta(seconds=1))
    _set(runtime, retry_later, attempts=1, next_attempt_at=now + timedelta(minutes=5))
    _set(
        runtime,
        orphaned,
        state="processing",
        attempts=1,
        lease_owner="dead:1:x",
        lease_until=now - timedelta(seconds=1),
    )
    backlog = process_batch.Backlog(grace_s=5.0)
    backlog.reserve(reserved)
    backlog.offer(offered)
    assert backlog.anything_due()

    claimed = backlog.claim("me:1:a", room=10)

    # Offered first; then due ones — not the fresh one (its dispatcher may still give it
    # a run), not the one reserved for a run, not the retry whose time has not come.
    assert claimed[0] == offered
    assert sorted(claimed) == sorted([offered, old, retry_due, orphaned])
    with runtime.db.session() as s:
        rows = {r.id: r for r in s.query(DocumentRow)}
    assert {rows[i].lease_owner for i in claimed} == {"me:1:a"}
    assert rows[fresh].state == rows[reserved].state == rows[retry_later].state == "received"
    # A second worker finds nothing of these: the claims are exclusive.
    again = process_batch.Backlog(grace_s=0.0)
    again.offer(offered)
    assert set(again.claim("other:2:b", room=10)) == {fresh, reserved}


def test_reservations_end_when_the_run_finished_or_never_came(runtime, load_firm):
    load_firm()
    done, pending = (
        take_in(runtime, "C02", invoice_pdf("C02", number=n, seed=32)[0]) for n in range(2)
    )
    with runtime.db.session() as s:
        documents_repo.mark_final(s, s.get(DocumentRow, done), DocumentState.ROUTED)
    backlog = process_batch.Backlog(reservation_s=60.0)
    backlog.reserve(done)
    backlog.reserve(pending)
    backlog.prune(runtime.db)
    assert backlog.reserved_ids() == {pending}
    expired = process_batch.Backlog(reservation_s=-1.0)  # the run never started
    expired.reserve(pending)
    expired.prune(runtime.db)
    assert expired.reserved_ids() == set() and expired.runs_in_flight() == 0
