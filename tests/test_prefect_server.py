"""A real `prefect server start` on loopback with `fiduflow serve` pointed at it.

Two invoices are mailed to a client's inbound address; the server's API (read with
Prefect's client) lists their `process-document` runs as completed, named and tagged for
operators; every deployment is served with its schedule and the `ocr` limit is set; a
headless-Chromium screenshot of the flow-runs page is saved under the test's temporary
folder as evidence. Then production's way on the same server: intake apart (`fiduflow
smtp`) and two warm `fiduflow worker`; one is killed mid-burst — every document is final
exactly once and what it held is taken up within a minute — and the other stops cleanly on
SIGTERM, leaving no file with the run's secrets behind.
"""

import asyncio
import os
import signal
import smtplib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.schemas.objects import DeploymentStatus
from sqlalchemy import select

from domain.masterdata import MasterData
from flows import prefect_env
from flows.deployments import DEPLOYMENTS
from storage.db import Database
from storage.masterdata import load_master_data
from storage.tables import BookingRow, DocumentRow
from tests.conftest import POSTGRES_URL, free_port
from tests.factories import invoice, mail_pdf, master_data

pytestmark = [pytest.mark.slow, pytest.mark.chromium, pytest.mark.smtp]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_ADDRESS = ("--host", "127.0.0.1", "--port")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FIDUFLOW_"))}
    env = prefect_env.server_env(env)  # the server as fiduflow runs it
    env.update(extra)
    return env


def _wait(predicate, timeout: float, what: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what}: process ended\n{log.read_text(errors='replace')[-4000:]}")
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"{what}: not within {timeout} s\n{log.read_text(errors='replace')[-4000:]}")


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _smtp_ready(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
            return smtp.noop()[0] == 250
    except OSError:
        return False


def _api(url: str, fn):
    from prefect.client.orchestration import PrefectClient

    async def go():
        async with PrefectClient(url) as client:
            return await fn(client)

    return asyncio.run(go())


def _document_runs(url: str):
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    return _api(
        url,
        lambda c: c.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["process-document"]))
        ),
    )


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def prefect_database() -> Iterator[dict[str, str]]:
    """Prefect's own database: PostgreSQL as in production when there is one (Prefect on
    SQLite stalls under concurrent use), else Prefect's default SQLite file."""
    if not POSTGRES_URL:
        yield {}
        return
    import psycopg

    name = f"prefect_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    host = POSTGRES_URL.split("://", 1)[1].rsplit("/", 1)[0]
    yield {"PREFECT_SERVER_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{host}/{name}"}
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_served_flows_on_a_real_prefect_server(tmp_path, prefect_database):
    prefect_port, smtp_port, http_port = free_port(), free_port(), free_port()
    api_url = f"http://127.0.0.1:{prefect_port}/api"
    server_log = tmp_path / "prefect-server.log"
    serve_log = tmp_path / "fiduflow-serve.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", *SERVER_ADDRESS, str(prefect_port)],
        env=_clean_env(
            PREFECT_HOME=str(tmp_path / "server-home"),
            PREFECT_UI_API_URL=api_url,
            **prefect_database,
        ),
        stdout=server_log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    serve = None
    try:
        # While the server starts: the firm's master data.
        data_dir = tmp_path / "data"
        database = Database(f"sqlite:///{data_dir / 'fiduflow.db'}")
        database.migrate()
        with database.session() as session:
            load_master_data(session, MasterData.model_validate(master_data()))
        _wait(lambda: _healthy(api_url), 90, "prefect server start", server, server_log)

        serve = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve"],
            env=_clean_env(
                PREFECT_API_URL=api_url,
                PREFECT_HOME=str(tmp_path / "serve-home"),
                FIDUFLOW_DATA_DIR=str(data_dir),
                FIDUFLOW_SMTP_PORT=str(smtp_port),
                FIDUFLOW_HTTP_PORT=str(http_port),
                FIDUFLOW_OCR_PROCESSES="2",
            ),
            stdout=serve_log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        _wait(lambda: _smtp_ready(smtp_port), 90, "fiduflow serve (SMTP)", serve, serve_log)

        def served() -> bool:
            # Ready: something polls for its runs (the runner, or serve itself for
            # process-inbox) — what the UI shows next to each deployment.
            deployments = _api(api_url, lambda c: c.read_deployments())
            ready = {d.name for d in deployments if d.status == DeploymentStatus.READY}
            return ready >= {s.name for s in DEPLOYMENTS} and deployments

        deployments = _wait(served, 60, "deployments served", serve, serve_log)

        for number in (1, 2):
            _send(smtp_port, number)

        def both_completed():
            runs = _document_runs(api_url)
            done = [r for r in runs if r.state and r.state.is_completed()]
            return len(done) == 2 and done

        runs = _wait(both_completed, 120, "two completed process-document runs", serve, serve_log)

        names = sorted(r.name for r in runs)
        assert [n.split("-")[0] for n in names] == ["C02", "C02"]
        assert names[0].endswith("rechnung-1.pdf") and names[1].endswith("rechnung-2.pdf")
        for run in runs:
            assert {"client:C02", "channel:email", "fiduflow"} <= set(run.tags)
            assert any(tag.startswith("type:") for tag in run.tags)

        by_name = {d.name: d for d in deployments}
        for spec in DEPLOYMENTS:
            crons = [s.schedule.cron for s in by_name[spec.name].schedules]
            assert crons == ([spec.cron] if spec.cron else [])
        ocr = _api(api_url, lambda c: c.read_concurrency_limit_by_tag("ocr"))
        assert ocr.concurrency_limit == 2

        # Evidence: the flow-runs page as an operator sees it.
        from playwright.sync_api import sync_playwright

        screenshot = tmp_path / "flow-runs.png"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{prefect_port}/runs", wait_until="networkidle")
            page.get_by_text(names[0]).first.wait_for(timeout=30_000)
            page.screenshot(path=str(screenshot), full_page=True)
            browser.close()
        assert screenshot.stat().st_size > 10_000

        # Production: the served process goes; intake runs apart (`fiduflow smtp`, which
        # records documents) and two `fiduflow worker` take them up, warm (their feeders).
        _stop(serve, signal.SIGINT)
        serve = None
        _production_drill(tmp_path, api_url, data_dir, smtp_port)
    finally:
        if serve is not None:
            _stop(serve, signal.SIGINT)
        _stop(server)


def _send(port: int, number: int) -> None:
    document = invoice("C02", number=number, seed=42)
    mail_pdf(
        port,
        document.data,
        subject=f"Rechnung {number}",
        filename=f"rechnung-{number}.pdf",
        timeout=30,
    )


def _production_drill(tmp_path: Path, api_url: str, data_dir: Path, smtp_port: int) -> None:
    """Two warm workers; one is killed mid-burst: every document final exactly once, what
    the dead one held taken up within a minute; the other stops cleanly on SIGTERM and
    neither leaves a file with the run's secrets in its temporary folder."""
    temp = tmp_path / "worker-tmp"
    temp.mkdir()
    secret = "drill-" + uuid.uuid4().hex  # a secret of the run's environment

    def start(command: str, name: str, **extra: str) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", command],
            env=_clean_env(
                PREFECT_API_URL=api_url,
                PREFECT_HOME=str(tmp_path / f"{name}-home"),
                FIDUFLOW_DATA_DIR=str(data_dir),
                FIDUFLOW_SESSION_SECRET=secret,
                FIDUFLOW_LEASE_SECONDS="8",
                FIDUFLOW_OCR_PROCESSES="1",
                TMPDIR=str(temp),
                **extra,
            ),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        return process, log

    smtp, smtp_log = start("smtp", "smtp", FIDUFLOW_SMTP_PORT=str(smtp_port))
    doomed, doomed_log = start("worker", "worker-1", FIDUFLOW_WORKER_RUNS="2")
    survivor, survivor_log = start("worker", "worker-2", FIDUFLOW_WORKER_RUNS="2")
    database = Database(f"sqlite:///{data_dir / 'fiduflow.db'}")
    database.migrate()
    try:
        _wait(lambda: _smtp_ready(smtp_port), 90, "fiduflow smtp", smtp, smtp_log)
        for worker, log in ((doomed, doomed_log), (survivor, survivor_log)):
            _wait(
                lambda log=log: b"fiduflow worker:" in log.read_bytes(), 90, "worker", worker, log
            )
        for number in range(10, 22):
            _send(smtp_port, number)

        def held_by_doomed() -> bool:
            with database.session() as session:
                owners = session.scalars(
                    select(DocumentRow.lease_owner).where(DocumentRow.state == "processing")
                ).all()
            return any(o and f":{doomed.pid}:" in o for o in owners)

        _wait(held_by_doomed, 60, "the first worker holding a document", doomed, doomed_log)
        doomed.kill()  # SIGKILL mid-burst: no goodbye, its leases just stop
        killed_at = time.monotonic()
        doomed.wait(10)

        def all_final() -> bool:
            with database.session() as session:
                states = session.scalars(select(DocumentRow.state)).all()
            return len(states) == 14 and all(s not in ("received", "processing") for s in states)

        _wait(all_final, 120, "every document final", survivor, survivor_log)
        taken_up_s = time.monotonic() - killed_at
        print(f"drill: taken up {taken_up_s:.1f} s after the kill")
        assert taken_up_s < 60, taken_up_s
        with database.session() as session:
            rows = session.scalars(select(DocumentRow)).all()
            assert {r.state for r in rows} == {"routed"}
            bookings = session.scalars(select(BookingRow.document_id)).all()
        assert sorted(bookings) == sorted({*bookings})  # none booked twice
        assert len(bookings) == 14
        # What the killed worker was running shows as Crashed, not as running for ever.
        runs = _api(api_url, lambda c: c.read_flow_runs())
        mark = f":{doomed.pid}"
        left = [r for r in runs if (r.infrastructure_pid or "").endswith(mark)]
        assert left and all(r.state.is_crashed() or r.state.is_completed() for r in left)
        assert any(r.state.is_crashed() for r in left)

        # SIGTERM: the survivor takes nothing more, finishes and exits 0.
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(30) == 0, survivor_log.read_text(errors="replace")[-3000:]
        assert b"stopped" in survivor_log.read_bytes()
        left = [p for p in temp.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        assert left == []
    finally:
        for process in (smtp, doomed, survivor):
            _stop(process)
