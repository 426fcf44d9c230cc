"""Fault drill: the processing worker is SIGKILLed at random points, five times, while it
works through 300 documents; each time it is started again. Afterwards every document is
final, reached that state exactly once, and the bookings are exactly one per document.

The worker is what `fiduflow serve` and `fiduflow worker` run under load — a feeder
(flows/feeder.py) claiming due documents and processing them in `process-backlog` runs — in a
subprocess of its own session (so the kill takes its parse workers with it, like a lost
machine), reporting to the session's Prefect test server, on a shared SQLite file or
PostgreSQL schema with a 3 s lease. Nothing tells anyone about the kills: the leases
running out are what brings the documents back.
"""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.masterdata import MasterData
from flows.runtime import Runtime, set_runtime
from storage.db import Database
from storage.masterdata import load_master_data
from storage.tables import BookingRow, DocumentRow, TaskRow
from tests.factories import invoice_pdf, master_data, take_in

pytestmark = [
    pytest.mark.prefect,
    pytest.mark.xdist_group("prefect"),
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = 300
KILLS = 5
LEASE_SECONDS = 3
FINAL = ("routed", "failed", "rejected", "duplicate")

WORKER = """
import signal, threading
from flows.feeder import DocumentFeeder
# No run per document: every due document goes to the feeder's process-backlog batch.
worker = DocumentFeeder(max_runs=0, poll_s=0.2).start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
worker.stop()
"""


@pytest.fixture
def shared_runtime(settings, db: Database, fs_store):
    runtime = Runtime(
        settings=settings.model_copy(update={"lease_seconds": LEASE_SECONDS}),
        db=db,
        store=fs_store,
    )
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


def _database_url(db: Database) -> tuple[str, dict[str, str]]:
    """The URL a subprocess uses for the same database (and schema, on PostgreSQL)."""
    url = db.engine.url.render_as_string(hide_password=False)
    if db.dialect != "postgresql":
        return url, {}
    with db.engine.connect() as connection:
        search_path = connection.exec_driver_sql("SHOW search_path").scalar()
    return url, {"PGOPTIONS": f"-csearch_path={search_path}"}  # libpq reads it


def _snapshot(runtime: Runtime) -> dict[int, tuple[str, object]]:
    with runtime.db.session() as s:
        return {
            r.id: (r.state, r.processed_at)
            for r in s.execute(select(DocumentRow.id, DocumentRow.state, DocumentRow.processed_at))
        }


def _final(snapshot: dict[int, tuple[str, object]]) -> set[int]:
    return {i for i, (state, _) in snapshot.items() if state in FINAL}


def test_worker_killed_five_times_in_300_documents(
    prefect_harness, shared_runtime, tmp_path, request
):
    from prefect.settings import PREFECT_API_URL

    runtime = shared_runtime
    with runtime.db.session() as s:
        load_master_data(s, MasterData.model_validate(master_data()))
    ids = []
    for n in range(DOCUMENTS):
        client = "C02" if n % 3 else "C01"  # offline: posted; online: draft + release task
        ids.append(take_in(runtime, client, invoice_pdf(client, number=n, seed=77)[0]))

    url, extra_env = _database_url(runtime.db)
    env = {
        **os.environ,
        **extra_env,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "FIDUFLOW_DATA_DIR": str(runtime.settings.data_dir),
        "FIDUFLOW_DATABASE_URL": url,
        "FIDUFLOW_LEASE_SECONDS": str(LEASE_SECONDS),
        # Five kills may hit one document more than the default three attempts allow;
        # giving up on it is tested elsewhere — here every document must get through.
        "FIDUFLOW_MAX_ATTEMPTS": "10",
        "FIDUFLOW_INBOX_CONCURRENCY": "4",
        "FIDUFLOW_OCR_PROCESSES": "2",
    }
    rng = random.Random(request.node.callspec.id if hasattr(request.node, "callspec") else 7)
    logs = []
    kills: list[dict[str, object]] = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(logs)}.log", "wb")  # noqa: SIM115
        logs.append(log)
        return subprocess.Popen(
            [sys.executable, "-c", WORKER],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the kill takes its parse workers too
        )

    worker = start()
    try:
        for _ in range(KILLS):
            # Let it get going (its Python and Prefect start take seconds), then kill it
            # at a random moment of its work: claiming, reading, persisting, renewing.
            base = len(_final(_snapshot(runtime)))
            deadline = time.monotonic() + 120
            while len(_final(_snapshot(runtime))) < base + 3:
                assert worker.poll() is None, _tail(tmp_path, len(logs) - 1)
                assert time.monotonic() < deadline, "the worker makes no progress"
                time.sleep(0.1)
            time.sleep(rng.uniform(0.0, 2.5))
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
            # Read after the kill, not before: in between the worker may claim more.
            at_kill = _snapshot(runtime)
            in_flight = [i for i, (state, _) in at_kill.items() if state == "processing"]
            kills.append({"at_kill": at_kill, "held": in_flight})
            if len(_final(at_kill)) == DOCUMENTS:
                break
            worker = start()
        assert len(kills) == KILLS, f"only {len(kills)} kills before the work ran out: {kills}"
        assert any(k["held"] for k in kills), "no kill hit a document in processing"

        deadline = time.monotonic() + 300
        while len(_final(_snapshot(runtime))) < DOCUMENTS:
            assert worker.poll() is None, _tail(tmp_path, len(logs) - 1)
            assert time.monotonic() < deadline, _tail(tmp_path, len(logs) - 1)
            time.sleep(0.2)
        finished = _snapshot(runtime)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        for log in logs:
            log.close()

    # Every document final, and once: a document final at any kill kept its final state
    # and the moment it got there (nobody processed it again after a restart).
    assert _final(finished) == set(ids)
    for kill in kills:
        at_kill = kill["at_kill"]
        for document_id in _final(at_kill):  # type: ignore[arg-type]
            assert finished[document_id] == at_kill[document_id], document_id  # type: ignore[index]
    with runtime.db.session() as s:
        rows = {r.id: r for r in s.scalars(select(DocumentRow))}
        bookings = Counter(s.scalars(select(BookingRow.document_id)))
        tasks = s.execute(select(TaskRow.document_id, TaskRow.kind)).all()
        seqs = s.scalars(select(BookingRow.seq).where(BookingRow.seq.is_not(None))).all()
        failed = s.scalar(
            select(func.count()).select_from(DocumentRow).where(DocumentRow.state != "routed")
        )
    assert failed == 0, {i: (r.state, r.error) for i, r in rows.items() if r.state != "routed"}
    # Every one of these invoices books once: posted (offline C02) or as a draft held by
    # the release task (online C01) — exactly the number of documents, none twice.
    assert sum(bookings.values()) == DOCUMENTS, bookings.most_common(3)
    assert set(bookings) == set(ids) and max(bookings.values()) == 1
    assert len(tasks) == len(set(tasks)), Counter(tasks).most_common(3)
    with runtime.db.session() as s:
        statuses = dict(s.execute(select(BookingRow.document_id, BookingRow.status)).all())
    # Posted with a number of its own each (offline C02, when the reading is certain);
    # the online client's bookings wait as drafts for the client's release.
    assert len(seqs) == len(set(seqs)) == sum(1 for v in statuses.values() if v == "posted")
    assert all(statuses[i] == "draft" for i in ids if rows[i].client_id == "C01")
    assert seqs, "no booking was posted at all"
    # Killed while holding documents: those were taken again (attempts > 1), the rest once.
    retried = {i for i, r in rows.items() if r.attempts > 1}
    assert retried, "no document needed a second attempt: the kills hit nothing"
    assert retried <= {i for k in kills for i in k["held"]}  # type: ignore[union-attr]


def _tail(tmp_path: Path, index: int) -> str:
    path = tmp_path / f"worker-{index}.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""
