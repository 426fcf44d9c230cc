"""Kill test: a `process-inbox` run is SIGKILLed mid-batch; the next run finishes every
document exactly once — no duplicate bookings or tasks, nothing stuck in `processing`.

The sweep runs in a subprocess (its own PREFECT_HOME, reporting to the session's test
server) on a shared SQLite file with a short lease. Prefect never learns of the kill (the
run stays "Running" there); the document states in our database are what repairs it.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.enums import DocumentState
from domain.masterdata import MasterData
from flows.process_batch import process_inbox
from flows.runtime import Runtime, set_runtime
from storage.documents import claimable_ids
from storage.masterdata import load_master_data
from storage.tables import BookingRow, DocumentRow, TaskRow, utcnow
from tests.factories import invoice_pdf, master_data, take_in

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect"), pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = 6
LEASE_SECONDS = 3


@pytest.fixture
def shared_runtime(settings, sqlite_db, fs_store):
    runtime = Runtime(
        settings=settings.model_copy(update={"lease_seconds": LEASE_SECONDS}),
        db=sqlite_db,
        store=fs_store,
    )
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


def _states(runtime) -> dict[int, DocumentRow]:
    with runtime.db.session() as s:
        return {row.id: row for row in s.scalars(select(DocumentRow))}


def _per_document(runtime, table) -> dict[int, int]:
    with runtime.db.session() as s:
        rows = s.execute(select(table.document_id, func.count()).group_by(table.document_id)).all()
    return dict(rows)


def test_killed_sweep_is_finished_exactly_once_by_the_next(
    prefect_harness, shared_runtime, tmp_path
):
    from prefect.settings import PREFECT_API_URL

    runtime = shared_runtime
    with runtime.db.session() as s:
        load_master_data(s, MasterData.model_validate(master_data()))
    ids = [
        take_in(
            runtime, "C02" if n % 2 else "C01", invoice_pdf("C02" if n % 2 else "C01", number=n)[0]
        )
        for n in range(DOCUMENTS)
    ]

    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "FIDUFLOW_DATA_DIR": str(runtime.settings.data_dir),
        "FIDUFLOW_DATABASE_URL": runtime.settings.resolved_database_url,
        "FIDUFLOW_LEASE_SECONDS": str(LEASE_SECONDS),
        "FIDUFLOW_INBOX_CONCURRENCY": "1",
        "FIDUFLOW_DISPATCH": "none",
    }
    code = "\n".join(
        [
            "import asyncio",
            "from flows.process_batch import process_inbox",
            "asyncio.run(process_inbox())",
        ]
    )
    log = open(tmp_path / "sweep.log", "wb")  # noqa: SIM115
    sweep = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = [d for d in _states(runtime).values() if DocumentState(d.state).is_final]
            if len(done) >= 2 or sweep.poll() is not None:
                break
            time.sleep(0.05)
        assert sweep.poll() is None, (tmp_path / "sweep.log").read_text()[-3000:]
        sweep.send_signal(signal.SIGKILL)
        sweep.wait(10)
    finally:
        if sweep.poll() is None:
            sweep.kill()
        log.close()

    at_kill = _states(runtime)
    finished_before = {i for i, d in at_kill.items() if DocumentState(d.state).is_final}
    orphaned = {i for i, d in at_kill.items() if d.state == "processing"}
    assert finished_before and orphaned, {i: d.state for i, d in at_kill.items()}
    assert orphaned | finished_before == set(ids)  # the sweep had claimed all of them
    assert {d.lease_owner for i, d in at_kill.items() if i in orphaned} != {None}

    # While the dead worker's lease is still running, nobody may claim its documents.
    with runtime.db.session() as s:
        assert claimable_ids(s, 100) == []

    deadline = time.monotonic() + 3 * LEASE_SECONDS
    while any(
        d.lease_until > utcnow() for d in _states(runtime).values() if d.state == "processing"
    ):
        assert time.monotonic() < deadline, "leases are still being renewed by a dead process?"
        time.sleep(0.2)

    outcomes = asyncio.run(process_inbox())

    assert sorted(o.document_id for o in outcomes) == sorted(orphaned)
    after = _states(runtime)
    assert not [i for i, d in after.items() if d.state in ("processing", "received")], {
        i: (d.state, d.error) for i, d in after.items()
    }
    for document_id in finished_before:  # not processed a second time
        assert after[document_id].attempts == 1
        assert after[document_id].processed_at == at_kill[document_id].processed_at
    for document_id in orphaned:
        assert after[document_id].attempts == 2 and after[document_id].lease_owner is None
    bookings = _per_document(runtime, BookingRow)
    assert all(n == 1 for n in bookings.values()), bookings
    with runtime.db.session() as s:
        tasks = s.execute(select(TaskRow.document_id, TaskRow.kind)).all()
        posted = s.scalars(select(BookingRow.seq).where(BookingRow.seq.is_not(None))).all()
    assert len(tasks) == len(set(tasks))  # one task of a kind per document
    assert len(posted) == len(set(posted))
    for document_id in ids:  # every document became a booking or a task, once
        assert bookings.get(document_id, 0) + sum(1 for t in tasks if t[0] == document_id) >= 1
