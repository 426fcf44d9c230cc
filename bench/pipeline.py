"""End to end: a generated inbox through SMTP and the app API into a running `fiduflow
serve` (or the production topology), processed to bookings and tasks — with the raw
tools' floor on the same files.

    .venv/bin/python bench/pipeline.py                       # SQLite + files
    .venv/bin/python bench/pipeline.py --postgres --s3       # PostgreSQL + S3 (moto)
    .venv/bin/python bench/pipeline.py --docs 60 --trickle 0 # quicker
    .venv/bin/python bench/pipeline.py --production          # intake apart, two workers
    .venv/bin/python bench/pipeline.py --production --docs 60 --trickle 0 --kill-worker

What it does, in one run:
1. Generates the firm (tests/docgen identities) and `--docs` documents addressed to its
   clients: 60 % text PDFs, 25 % scans, 15 % photos of invoices, receipts, credit notes
   and bank statements (bench/workload.py), before any clock starts.
2. Starts Prefect's server (SQLite, or PostgreSQL with --postgres, as in production), moto
   in server mode (--s3), and `fiduflow serve` (the real CLI; with --production the
   processes below) in a fresh data folder; loads the firm with `fiduflow setup load`;
   processes a few warm-up documents.
3. Floor: the same files read by the raw tools — pdfplumber `extract_text` and the
   `tesseract` CLI at the best parallelism found for this machine — and by our reader
   alone (`extractors.extract`, no intake, no Prefect, no database), each in a process of
   its own (bench/floor.py), CPU time counted with its children.
4. Text phase: every text PDF at once, half by SMTP (one mail each, 4 connections), half
   by the app API (4 threads); then the OCR phase: every scan and photo the same way.
   Each phase ends when every acknowledged document is final in the database.
5. Trickle (--trickle N): N more documents one at a time, `--gap` seconds apart: the
   latency of a quiet system (a feeder gives each document a run of its own while quiet).

--production: the same workload through the README's production topology on this
machine instead of `fiduflow serve` (bench/production.py): Prefect's server and fiduflow
on PostgreSQL, the originals in S3 (moto) — it implies --postgres --s3 —, the `ocr` tag
limit set once (--ocr-limit, default the two workers' OCR processes), two
`fiduflow worker` (one OCR process each, FIDUFLOW_WORKER_RUNS left at its default), and
intake apart: `fiduflow smtp` and `fiduflow api`, which record documents; the workers'
feeders take them from the database. Each process has a data folder of its own,
as on a machine of its own. CPU is counted per group: Prefect's server, intake, the
workers with their reading processes, PostgreSQL, moto. --kill-worker (with --production):
during the text burst, the first worker is SIGKILLed as soon as it holds a document (a
lease naming its pid); `taken_up_s` is the time from the kill until every document of the
burst is final (a dead worker's documents come back when their lease runs out, 40 s by
default, and a live worker asks for a sweep). The other worker does the rest alone.

PostgreSQL's CPU is that of the backends of the run's two databases (another job on the
same server is not charged to fiduflow; the whole server is shown apart, not added).

Printed: documents/min end to end (per phase and overall), time from acknowledgement to
final state (p50, p95), where the CPU went (reading vs. our overhead — intake, Prefect,
database, storage — per process group), peak RSS per process kind, what became of the
documents (bookings, tasks, lost, doubled), and the floor. The last line is key=value:

    text_docs_per_min=… ocr_pages_per_min=… raw_ocr_pages_per_min=… overhead_pct=… p50_s=…
    p95_s=… lost=… doubled=… peak_rss_mb=… [more] topology=serve|production
    [killed_worker=1 taken_up_s=…]

overhead_pct = (CPU of everything fiduflow runs on − CPU of our reader alone) / CPU of
the raw tools, on the same documents: what intake, Prefect, the database and the object
store cost, against what reading costs at the least. Everything runs on this machine; the
load average is printed next to each phase, since another job makes every figure worse.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from hashlib import sha256
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import production
from bench.workload import Firm, InboxDocument, inbox
from flows.deployments import DEPLOYMENTS
from flows.prefect_env import SERVER_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get(
    "FIDUFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
FINAL = ("routed", "failed", "rejected", "duplicate")
CLK = os.sysconf("SC_CLK_TCK")


# --- processes: CPU and memory from /proc --------------------------------------------


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()


def _children(pid: int) -> list[int]:
    """Direct children, from the kernel's per-thread lists (cheap: no walk over /proc)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(c) for c in f.read().split())
    return found


def tree(pid: int) -> list[int]:
    found, todo = [pid], [pid]
    while todo:
        for child in _children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its descendants, reaped ones included (a reaped
    child's time moves into its parent's cutime/cstime, so each second counts once)."""
    total = 0
    for member in tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat(member)
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / CLK


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def role(command: str) -> str:
    if command.startswith("postgres"):  # its backends name their database: prefect_bench_…
        return "postgres"
    if "flows.cli serve" in command or "fiduflow serve" in command:
        return "fiduflow serve"
    for command_name in ("worker", "smtp", "api"):  # --production (bench/production.py)
        if f"flows.cli {command_name}" in command:
            return f"fiduflow {command_name}"
    if "extractors.worker" in command:
        return "parse worker"
    if command.startswith("tesseract"):
        return "tesseract"
    if "multiprocessing" in command or "forkserver" in command:
        return "MIME parser"
    if "prefect" in command and "server" in command:
        return "prefect server"
    if "prefect" in command or "flow_run" in command or "process_document" in command:
        return "flow run process"
    if "moto" in command:
        return "moto (S3)"
    if "postgres" in command:
        return "postgres"
    return command.split(" ")[0].rsplit("/", 1)[-1] or "?"


class BackendCpu(threading.Thread):
    """CPU seconds of the PostgreSQL backends serving `databases`, added up over every
    backend seen (each at its last sample, every `every` s): another job's databases on
    the same server are not counted, nor the server's shared processes (WAL writer,
    checkpointer), which cannot be told apart by whom they serve."""

    def __init__(self, postmaster: int, databases: list[str], skip: set[int], every: float = 0.5):
        super().__init__(daemon=True)
        self.postmaster, self.every, self.skip = postmaster, every, skip
        self.marks = [f" {name} " for name in databases]
        self.seen: dict[tuple[int, str], float] = {}  # (pid, command) → CPU at last sample
        self.lock = threading.Lock()
        self.stop_event = threading.Event()

    def sample(self) -> None:
        for pid in _children(self.postmaster):
            if pid in self.skip:
                continue
            command = cmdline(pid)
            if any(mark in command for mark in self.marks):
                with contextlib.suppress(OSError, IndexError, ValueError):
                    fields = _stat(pid)
                    with self.lock:
                        self.seen[(pid, command.split(" ")[3])] = (
                            int(fields[11]) + int(fields[12])
                        ) / CLK

    def total(self) -> float:
        self.sample()
        with self.lock:
            return sum(self.seen.values())

    def run(self) -> None:
        while not self.stop_event.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)


class RssSampler(threading.Thread):
    """Peak RSS per process kind, over the given process trees, every `every` s."""

    def __init__(self, roots: list[int], every: float = 1.0):
        super().__init__(daemon=True)
        self.roots, self.every = roots, every
        self.peaks: dict[str, float] = defaultdict(float)
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            for root in self.roots:
                for pid in tree(root):
                    command = cmdline(pid)
                    if not command:  # gone (or a zombie) between the listing and now
                        continue
                    kind = role(command)
                    self.peaks[kind] = max(self.peaks[kind], rss_mb(pid))
            self.stop_event.wait(self.every)

    def stop(self) -> dict[str, float]:
        self.stop_event.set()
        self.join(5)
        return dict(self.peaks)


def postmaster_pid() -> int | None:
    """The PostgreSQL server of this machine (its backends are its children)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            command = cmdline(int(entry))
            if ("postgres" in command and " -D " in command) or "postmaster" in command:
                return int(entry)
    return None


def loadavg() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


@dataclass
class Groups:
    """The process trees whose CPU is counted, by group; `own` the processes whose CPU is
    also shown without their children (the serving processes); `frozen` the CPU of a
    process killed on purpose, read just before the kill (then gone from /proc)."""

    trees: dict[str, list[int]]
    own: tuple[str, list[int]]
    counters: dict[str, Any] = field(default_factory=dict)  # name → () -> CPU seconds
    frozen: dict[int, tuple[float, float]] = field(default_factory=dict)  # (tree, own)

    def pids(self) -> list[int]:
        return [pid for pids in self.trees.values() for pid in pids]

    def cpu(self, pid: int, with_children: bool = True) -> float:
        if pid in self.frozen:
            return self.frozen[pid][0 if with_children else 1]
        return tree_cpu(pid) if with_children else own_cpu(pid)


def cpu_pair(pid: int) -> tuple[float, float]:
    """(CPU with children, CPU of the process alone) of `pid`, now."""
    return tree_cpu(pid), own_cpu(pid)


# --- services --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Any, timeout: float, what: str, process: Any = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what}: the process stopped (exit {process.returncode})")
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise SystemExit(f"{what}: not within {timeout:.0f} s")


def http_ok(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def smtp_ok(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=3) as client:
            return client.noop()[0] == 250
    except OSError:
        return False


@dataclass
class Stack:
    """Everything the run starts, and how to reach it."""

    workdir: Path
    env: dict[str, str]
    database_url: str
    smtp_port: int
    http_port: int
    prefect_url: str
    prefect_db: str = ""  # with --postgres: its database's URL
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    drop_databases: list[str] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)
    cleanups: list[Any] = field(default_factory=list)  # called at stop, before the processes

    def start(self, name: str, command: list[str], **extra_env: str) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        process = subprocess.Popen(
            command,
            env={**self.env, **extra_env},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.processes[name] = process
        return process

    def stop(self) -> None:
        for cleanup in self.cleanups:
            cleanup()
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        if self.drop_databases:
            import psycopg

            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                for name in self.drop_databases:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _create_database(stack: Stack, prefix: str) -> str:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    stack.drop_databases.append(name)
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def running_stack(args: argparse.Namespace, firm: Firm) -> Iterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix="fiduflow-pipeline-bench-"))
    data_dir = workdir / "data"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FIDUFLOW_"))}
    # Prefect's server as fiduflow runs it (README, "Running in production").
    base_env |= SERVER_SETTINGS | {"PREFECT_SERVER_LOGGING_LEVEL": "WARNING"}
    prefect_port, smtp_port, http_port = free_port(), free_port(), free_port()
    prefect_url = f"http://127.0.0.1:{prefect_port}/api"
    stack = Stack(
        workdir=workdir,
        env=base_env,
        database_url=f"sqlite:///{data_dir / 'fiduflow.db'}",
        smtp_port=smtp_port,
        http_port=http_port,
        prefect_url=prefect_url,
    )
    try:
        prefect_env: dict[str, str] = {
            "PREFECT_HOME": str(workdir / "prefect-server"),
            "PREFECT_UI_API_URL": prefect_url,
        }
        if args.postgres:
            stack.database_url = _create_database(stack, "fiduflow_bench")
            stack.prefect_db = prefect_db = _create_database(stack, "prefect_bench")
            prefect_env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = prefect_db.replace(
                "postgresql://", "postgresql+asyncpg://"
            )
        server = stack.start(
            "prefect-server",
            [
                *(str(VENV_BIN / "prefect"), "server", "start"),
                *("--host", "127.0.0.1", "--port", str(prefect_port)),
            ],
            **prefect_env,
        )
        fiduflow_env = {
            "FIDUFLOW_DATA_DIR": str(data_dir),
            "FIDUFLOW_DATABASE_URL": stack.database_url,
            "FIDUFLOW_SMTP_PORT": str(smtp_port),
            "FIDUFLOW_HTTP_PORT": str(http_port),
            "FIDUFLOW_INBOUND_DOMAIN": "in.bench.example",
            "FIDUFLOW_DISPATCH": args.dispatch,
            "PREFECT_API_URL": prefect_url,
            "PREFECT_HOME": str(workdir / "prefect-serve"),
        }
        if args.s3:
            moto_port = free_port()
            stack.start(
                "moto",
                [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
            )
            wait_until(lambda: http_ok(f"http://127.0.0.1:{moto_port}/"), 60, "moto server")
            fiduflow_env |= {
                "FIDUFLOW_S3_ENDPOINT": f"127.0.0.1:{moto_port}",
                "FIDUFLOW_S3_BUCKET": "bench",
                "FIDUFLOW_S3_ACCESS_KEY": "testing",
                "FIDUFLOW_S3_SECRET_KEY": "testing",
            }
        stack.env = {**base_env, **fiduflow_env}
        firm_file = workdir / "firm.json"
        firm_file.write_text(json.dumps(firm.master_data()))
        subprocess.run(
            [str(VENV_BIN / "fiduflow"), "setup", "load", str(firm_file)],
            env=stack.env,
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        wait_until(lambda: http_ok(f"{prefect_url}/health"), 120, "Prefect server", server)
        if args.production:
            start_production(stack, args.ocr_limit)
            yield stack
            return
        serve = stack.start("serve", [str(VENV_BIN / "fiduflow"), "serve"])
        wait_until(lambda: smtp_ok(smtp_port), 120, "fiduflow serve (SMTP)", serve)
        wait_until(
            lambda: http_ok(f"http://127.0.0.1:{http_port}/healthz"), 60, "serve (HTTP)", serve
        )
        wait_until(lambda: _deployments(prefect_url) >= 5, 60, "deployments served", serve)
        yield stack
    finally:
        stack.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def start_production(stack: Stack, ocr_limit: int) -> None:
    """The README's production topology (bench/production.py): the `ocr` limit set once
    (README step 3), two `fiduflow worker` (which register the deployments), then intake
    apart — `fiduflow smtp` and `fiduflow api`, each asking for a run per document."""
    subprocess.run(
        [
            str(VENV_BIN / "prefect"),
            "concurrency-limit",
            "create",
            "ocr",
            str(ocr_limit),
        ],
        env={**stack.env, "PREFECT_HOME": str(stack.workdir / "prefect-admin")},
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    for spec in production.worker_specs(stack.workdir):
        stack.start(spec.name, spec.command, **spec.env)
    for spec in production.worker_specs(stack.workdir):
        log, process = stack.logs[spec.name], stack.processes[spec.name]
        wait_until(lambda log=log: production.worker_ready(log), 120, spec.name, process)
    wait_until(
        lambda: _deployments(stack.prefect_url) >= len(DEPLOYMENTS), 60, "deployments registered"
    )
    smtp, api = (
        stack.start(spec.name, spec.command, **spec.env)
        for spec in production.intake_specs(stack.workdir)
    )
    wait_until(lambda: smtp_ok(stack.smtp_port), 120, "fiduflow smtp", smtp)
    wait_until(
        lambda: http_ok(f"http://127.0.0.1:{stack.http_port}/healthz"), 120, "fiduflow api", api
    )


def _deployments(prefect_url: str) -> int:
    import httpx

    try:
        response = httpx.post(f"{prefect_url}/deployments/filter", json={}, timeout=5)
        return len(response.json()) if response.status_code == 200 else 0
    except httpx.HTTPError:
        return 0


def flow_runs(prefect_url: str) -> list[tuple[str, float | None, float | None]]:
    """(flow name, start, end as Unix time) of every flow run that ran."""
    from datetime import datetime

    import httpx

    def unix(value: str | None) -> float | None:
        return datetime.fromisoformat(value).timestamp() if value else None

    flows = {f["id"]: f["name"] for f in httpx.post(f"{prefect_url}/flows/filter", json={}).json()}
    found: list[tuple[str, float | None, float | None]] = []
    offset = 0
    while True:
        runs = httpx.post(
            f"{prefect_url}/flow_runs/filter", json={"limit": 200, "offset": offset}, timeout=30
        ).json()
        # Schedules create runs ahead of time: only those that ran.
        found.extend(
            (flows.get(r["flow_id"], "?"), unix(r["start_time"]), unix(r["end_time"]))
            for r in runs
            if r["state_type"] not in ("SCHEDULED", "PENDING", "CANCELLED")
        )
        if len(runs) < 200:
            return found
        offset += 200


# --- sending -----------------------------------------------------------------------------


@dataclass
class Sent:
    doc: InboxDocument
    channel: str
    sha256: str
    sent_at: float = 0.0
    acked_at: float | None = None
    reply: str = ""
    document_id: int | None = None
    final_at: float | None = None
    state: str | None = None


def build_mail(firm: Firm, doc: InboxDocument) -> bytes:
    message = EmailMessage()
    message["From"] = f"Buchhaltung <belege@{doc.client_id.lower()}.example>"
    message["To"] = firm.client(doc.client_id).inbound
    message["Subject"] = f"Beleg {doc.index}"
    message["Message-ID"] = f"<bench-{uuid.uuid4().hex}@sender.example>"
    message.set_content("Guten Tag, anbei der Beleg.")
    maintype, subtype = doc.media_type.split("/")
    message.add_attachment(doc.data, maintype=maintype, subtype=subtype, filename=doc.filename)
    return message.as_bytes()


def smtp_sender(port: int, firm: Firm, items: list[tuple[Sent, bytes]]) -> None:
    client = smtplib.SMTP("127.0.0.1", port, timeout=120)
    client.ehlo("sender.example")
    try:
        for sent, raw in items:
            sent.sent_at = time.time()
            try:
                client.sendmail(
                    f"belege@{sent.doc.client_id.lower()}.example",
                    [firm.client(sent.doc.client_id).inbound],
                    raw,
                )
                sent.acked_at = time.time()
                sent.reply = "250"
            except smtplib.SMTPException as exc:
                sent.reply = f"{exc.__class__.__name__}: {exc}"
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()


def api_sender(port: int, firm: Firm, items: list[Sent]) -> None:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        for sent in items:
            token = firm.client(sent.doc.client_id).token
            sent.sent_at = time.time()
            response = http.post(
                "/api/v1/documents",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": (sent.doc.filename, sent.doc.data, sent.doc.media_type)},
            )
            if response.status_code == 201:
                sent.acked_at = time.time()
                sent.document_id = response.json()["id"]
                sent.reply = "201"
            else:
                sent.reply = f"{response.status_code} {response.text[:200]}"


def send_all(stack: Stack, firm: Firm, docs: list[InboxDocument], connections: int) -> list[Sent]:
    """Half by SMTP, half by the API, `connections` senders each, all at once."""
    sent = [
        Sent(d, "smtp" if i % 2 == 0 else "api", sha256(d.data).hexdigest())
        for i, d in enumerate(docs)
    ]
    mails = [(s, build_mail(firm, s.doc)) for s in sent if s.channel == "smtp"]  # off the clock
    uploads = [s for s in sent if s.channel == "api"]
    threads = [
        threading.Thread(target=smtp_sender, args=(stack.smtp_port, firm, mails[i::connections]))
        for i in range(connections)
    ] + [
        threading.Thread(target=api_sender, args=(stack.http_port, firm, uploads[i::connections]))
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent


# --- what the database says ------------------------------------------------------------


class Ledger:
    def __init__(self, database_url: str):
        from storage.db import Database

        self.db = Database(database_url)
        # The backends of the bench's own queries: not fiduflow's (BackendCpu skips them).
        self.backends: set[int] = set()
        self._postgres = database_url.startswith("postgresql")

    def _mine(self, session: Any) -> None:
        if self._postgres:
            from sqlalchemy import text

            self.backends.add(int(session.scalar(text("SELECT pg_backend_pid()"))))

    def held_by(self, pid: int) -> int:
        """Documents in processing whose lease the process `pid` holds (its lease_owner
        names it: host:pid:…)."""
        from sqlalchemy import select

        from storage.tables import DocumentRow

        with self.db.session() as session:
            self._mine(session)
            owners = session.scalars(
                select(DocumentRow.lease_owner).where(DocumentRow.state == "processing")
            ).all()
        return sum(1 for owner in owners if owner and f":{pid}:" in owner)

    def rows(self, sent: list[Sent]) -> dict[tuple[str, str], list[Any]]:
        from sqlalchemy import select

        from storage.tables import DocumentRow

        shas = [s.sha256 for s in sent]
        found: dict[tuple[str, str], list[Any]] = defaultdict(list)
        with self.db.session() as session:
            self._mine(session)
            for start in range(0, len(shas), 500):
                for row in session.execute(
                    select(
                        DocumentRow.id,
                        DocumentRow.client_id,
                        DocumentRow.sha256,
                        DocumentRow.state,
                        DocumentRow.processed_at,
                    ).where(DocumentRow.sha256.in_(shas[start : start + 500]))
                ):
                    found[(row.client_id, row.sha256)].append(row)
        return found

    def wait_final(self, sent: list[Sent], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        acked = [s for s in sent if s.acked_at is not None]
        while True:
            rows = self.rows(acked)
            pending = 0
            for s in acked:
                mine = rows.get((s.doc.client_id, s.sha256), [])
                if mine:
                    row = min(mine, key=lambda r: r.id)
                    s.document_id, s.state = row.id, row.state
                    if row.state in FINAL and row.processed_at is not None:
                        s.final_at = row.processed_at.timestamp()  # aware UTC
                        continue
                pending += 1
            if not pending or time.monotonic() > deadline:
                return
            time.sleep(0.5)

    def outcomes(self, document_ids: list[int]) -> dict[str, Any]:
        from sqlalchemy import func, select

        from storage.tables import BookingRow, ExtractionRow, TaskRow

        with self.db.session() as session:
            bookings = session.execute(
                select(BookingRow.document_id, BookingRow.status).where(
                    BookingRow.document_id.in_(document_ids)
                )
            ).all()
            tasks = session.execute(
                select(TaskRow.document_id, TaskRow.kind).where(
                    TaskRow.document_id.in_(document_ids)
                )
            ).all()
            extractions = dict(
                session.execute(
                    select(ExtractionRow.document_id, ExtractionRow.data).where(
                        ExtractionRow.document_id.in_(document_ids)
                    )
                ).all()
            )
            per_doc = Counter(d for d, _ in bookings)
            seqs = session.scalar(
                select(func.count(BookingRow.seq) - func.count(func.distinct(BookingRow.seq)))
            )
        return {
            "bookings": Counter(status for _, status in bookings),
            "tasks": Counter(kind for _, kind in tasks),
            "doubled_bookings": sum(n - 1 for n in per_doc.values() if n > 1),
            "doubled_tasks": len(tasks) - len(set(tasks)),
            "doubled_seq": int(seqs or 0),
            "extractions": extractions,
        }


# --- the floor ---------------------------------------------------------------------------


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def floor(mode: str, folder: Path, *options: str) -> dict[str, float]:
    """Run bench/floor.py in its own process; its result plus the CPU it used (children
    included: tesseract, parse workers)."""
    before = _child_cpu()
    result = subprocess.run(
        [sys.executable, "-m", "bench.floor", mode, str(folder), *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={**os.environ, "FIDUFLOW_DATA_DIR": str(folder.parent / "floor-data")},
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["cpu_s"] = _child_cpu() - before
    return figures


def write_files(docs: list[InboxDocument], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        (folder / doc.filename).write_bytes(doc.data)
    return folder


def best_ocr_parallelism(folder: Path, sample: int) -> tuple[int, int]:
    """(processes, threads) at which the tesseract CLI reads a sample of pages fastest."""
    sample_dir = folder.parent / f"{folder.name}-sample"
    sample_dir.mkdir(exist_ok=True)
    for path in sorted(folder.iterdir())[:sample]:
        shutil.copy(path, sample_dir / path.name)
    cores = os.cpu_count() or 1
    best = (0.0, cores, 1)
    # One OCR thread per process, as DESIGN.md measured. (1 process with tesseract's own
    # threads read 8.4–8.7 pages/min here — eight times slower — so it is not tried.)
    for processes, threads in sorted({(cores, 1), (cores + 1, 1), (2 * cores, 1)}):
        result = floor("raw-ocr", sample_dir, f"--processes={processes}", f"--threads={threads}")
        rate = result["pages"] / result["wall_s"]
        label = "default threads" if threads == 0 else f"{threads} thread"
        print(f"    tesseract {processes} proc × {label}: {rate * 60:.1f} pages/min")
        if rate > best[0]:
            best = (rate, processes, threads)
    return best[1], best[2]


# --- the run -------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    sent: list[Sent]
    started: float
    ended: float
    cpu: dict[str, float]
    load: str
    cpu_window: tuple[float, float] = (0.0, 0.0)  # when CPU was read, Unix time

    @property
    def acked(self) -> list[Sent]:
        return [s for s in self.sent if s.acked_at is not None]

    @property
    def latencies(self) -> list[float]:
        return sorted(s.final_at - s.acked_at for s in self.acked if s.final_at and s.acked_at)

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def own_cpu(pid: int) -> float:
    """CPU seconds of the process itself (its threads), children not included."""
    try:
        fields = _stat(pid)
    except (OSError, IndexError, ValueError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK


def cpu_snapshot(groups: Groups) -> dict[str, float]:
    cpu = {name: sum(groups.cpu(pid) for pid in pids) for name, pids in groups.trees.items()}
    # The serving processes themselves (serve: intake, Prefect client, database, the
    # reader's in-process part; workers: the same but intake) apart from their children
    # (parse workers, tesseract, MIME parsers, runs).
    cpu |= {name: count() for name, count in groups.counters.items()}
    label, pids = groups.own
    cpu[label] = sum(groups.cpu(pid, with_children=False) for pid in pids)
    return cpu


def run_phase(
    name: str,
    stack: Stack,
    firm: Firm,
    ledger: Ledger,
    docs: list[InboxDocument],
    groups: Groups,
    connections: int,
    timeout: float,
    kill: production.WorkerKill | None = None,
) -> Phase:
    load_before = loadavg()
    cpu_before = cpu_snapshot(groups)
    cpu_from = started = time.time()
    if kill is not None:  # watches for a document held by its worker, then kills it
        kill.start()
    sent = send_all(stack, firm, docs, connections)
    ledger.wait_final(sent, timeout)
    if kill is not None:
        kill.stop()
        if kill.killed_at is not None:
            groups.frozen[kill.pid] = kill.cpu_at_kill
    finals = [s.final_at for s in sent if s.final_at]
    ended = max(finals) if finals else time.time()
    # CPU is read when the last document is final (plus the poll interval).
    cpu_after = cpu_snapshot(groups)
    return Phase(
        name=name,
        sent=sent,
        started=started,
        ended=ended,
        cpu={k: cpu_after[k] - cpu_before[k] for k in cpu_before},
        load=f"{load_before} → {loadavg()}",
        cpu_window=(cpu_from, time.time()),
    )


def trickle(
    stack: Stack, firm: Firm, ledger: Ledger, docs: list[InboxDocument], gap: float
) -> list[float]:
    """One document at a time, `gap` s apart; latency of each from ack to final."""
    latencies = []
    for doc in docs:
        [sent] = send_all(stack, firm, [doc], 1)
        ledger.wait_final([sent], 300)
        if sent.final_at and sent.acked_at:
            latencies.append(sent.final_at - sent.acked_at)
        time.sleep(gap)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=200, help="documents in the inbox")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    parser.add_argument("--s3", action="store_true", help="S3 (moto server), not files")
    parser.add_argument("--dispatch", default="auto", help="FIDUFLOW_DISPATCH of serve")
    parser.add_argument("--connections", type=int, default=4, help="senders per channel")
    parser.add_argument("--trickle", type=int, default=6, help="documents sent one by one")
    parser.add_argument("--gap", type=float, default=6.0, help="seconds between them")
    parser.add_argument("--timeout", type=float, default=1800, help="per phase, seconds")
    parser.add_argument("--skip-floor", action="store_true", help="no raw/reader floor")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--only", choices=["text", "ocr"], help="only the text PDFs, or only the scans/photos"
    )
    parser.add_argument(
        "--production",
        action="store_true",
        help="the README's production topology instead of `fiduflow serve`: intake apart "
        "(`fiduflow smtp`, `fiduflow api`), two `fiduflow worker`; implies --postgres --s3",
    )
    parser.add_argument(
        "--kill-worker",
        action="store_true",
        help="with --production: SIGKILL one worker during the text burst once it holds a "
        "document; report how long until every document is final (taken_up_s)",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="FILE",
        help="record `fiduflow serve` (and its Python children) with py-spy during the "
        "phases and the trickle, raw format, to FILE; Prefect's server to FILE with "
        "`-prefect` before the suffix (py-spy comes with the dev dependencies)",
    )
    parser.add_argument(
        "--ocr-limit",
        type=int,
        default=production.OCR_LIMIT,
        help="with --production: the `ocr` tag limit set before the workers start "
        f"(default {production.OCR_LIMIT}: the OCR processes of all workers)",
    )
    args = parser.parse_args()
    if args.kill_worker and not args.production:
        parser.error("--kill-worker needs --production")
    if args.production:
        # Production as the README has it: both on PostgreSQL, originals in S3.
        args.postgres = args.s3 = True
    topology = "production" if args.production else "serve"

    firm = Firm.make(seed=args.seed)
    docs = inbox(firm, args.docs, seed=args.seed)
    extra = inbox(firm, 3 + args.trickle, seed=args.seed + 1000)
    warmup, quiet = extra[:3], extra[3:]
    text_docs = [d for d in docs if not d.needs_ocr and args.only in (None, "text")]
    ocr_docs = [d for d in docs if d.needs_ocr and args.only in (None, "ocr")]
    forms = Counter(d.form for d in docs)
    kinds = Counter(d.kind for d in docs)
    backend = ("PostgreSQL" if args.postgres else "SQLite") + " + " + ("S3" if args.s3 else "files")
    shape = (
        f"production topology (smtp + api intake apart, {production.WORKERS} workers with "
        f"{production.WORKER_OCR_PROCESSES} OCR process each, ocr limit {args.ocr_limit})"
        if args.production
        else "fiduflow serve"
    )
    print(
        f"fiduflow end to end on {os.cpu_count()} cores, {shape}, {backend}, "
        f"dispatch {args.dispatch}; "
        f"load average {loadavg()} (1/5 min)\n"
        f"inbox: {len(docs)} documents ({dict(forms)}; {dict(kinds)}), "
        f"{sum(d.pages for d in ocr_docs)} OCR pages, {len(firm.clients)} clients"
    )

    figures: dict[str, Any] = {}
    with running_stack(args, firm) as stack:
        ledger = Ledger(stack.database_url)
        if args.production:
            workers = [stack.processes[s.name].pid for s in production.worker_specs(ROOT)]
            groups = Groups(
                trees={
                    "fiduflow workers": workers,  # with their reading processes
                    "intake (smtp + api)": [
                        stack.processes["smtp"].pid,
                        stack.processes["api"].pid,
                    ],
                },
                own=("  of which workers alone", workers),
            )
            spied = workers[0]
            logs = ", ".join(str(stack.logs[name]) for name in ("worker-1", "worker-2", "smtp"))
        else:
            serve_pid = stack.processes["serve"].pid
            # `fiduflow serve` is a small supervisor; the serving process is its child.
            serving = [c for c in _children(serve_pid) if "flows.cli serve" in cmdline(c)]
            serve_pid = serving[0] if serving else serve_pid
            groups = Groups(
                trees={"fiduflow serve": [serve_pid]}, own=("  of which serve itself", [serve_pid])
            )
            spied = serve_pid
            logs = str(stack.logs["serve"])
        groups.trees["prefect server"] = [stack.processes["prefect-server"].pid]
        if "moto" in stack.processes:
            groups.trees["moto (S3)"] = [stack.processes["moto"].pid]
        postmaster = postmaster_pid() if args.postgres else None
        if postmaster:
            # Only the backends of this run's two databases count: another job on the same
            # server (tests, CI) would otherwise be charged to fiduflow. The whole server
            # is shown apart, not added.
            databases = [url.rsplit("/", 1)[1] for url in (stack.database_url, stack.prefect_db)]
            backends = BackendCpu(postmaster, databases, skip=ledger.backends)
            backends.start()
            groups.counters["postgres (our databases)"] = backends.total
            whole = Groups(trees={"whole": [postmaster]}, own=("", []))
            groups.counters["  postgres, whole server"] = lambda: whole.cpu(postmaster)
        postgres = [postmaster] if args.postgres and postmaster else []
        sampler = RssSampler(groups.pids() + postgres)
        sampler.start()

        print(f"warm-up: {len(warmup)} documents …", flush=True)
        warm = run_phase("warm-up", stack, firm, ledger, warmup, groups, 1, 600)
        if len([s for s in warm.sent if s.final_at]) != len(warmup):
            raise SystemExit(f"warm-up did not finish; see {logs}")

        floor_figures: dict[str, dict[str, float]] = {}
        if not args.skip_floor:
            print(f"floor (same files, raw tools and our reader alone), load {loadavg()} …")
            cores = str(os.cpu_count() or 1)
            if text_docs:
                text_dir = write_files(text_docs, stack.workdir / "floor-text")
                floor_figures["raw text"] = floor("raw-text", text_dir, f"--processes={cores}")
                floor_figures["reader text"] = floor("reader", text_dir, "--threads=4")
            if ocr_docs:
                ocr_dir = write_files(ocr_docs, stack.workdir / "floor-ocr")
                processes, threads = best_ocr_parallelism(ocr_dir, sample=min(6, len(ocr_docs)))
                floor_figures["raw ocr"] = floor(
                    "raw-ocr", ocr_dir, f"--processes={processes}", f"--threads={threads}"
                )
                config = f"{processes} proc × {threads or 'default'} thr"
                floor_figures["raw ocr"]["config"] = config  # type: ignore[assignment]
                floor_figures["raw ocr lib"] = floor(
                    "raw-ocr-lib", ocr_dir, f"--processes={processes}"
                )
                floor_figures["reader ocr"] = floor("reader", ocr_dir, "--threads=4")

        spies = []
        if args.py_spy:
            args.py_spy.parent.mkdir(parents=True, exist_ok=True)
            server_file = args.py_spy.with_stem(args.py_spy.stem + "-prefect")
            prefect_pid = groups.trees["prefect server"][0]
            for pid, output in ((spied, args.py_spy), (prefect_pid, server_file)):
                spies.append(
                    subprocess.Popen(
                        [
                            str(VENV_BIN / "py-spy"),
                            *(
                                "record",
                                "--pid",
                                str(pid),
                                "--subprocesses",
                                "--nonblocking",
                                "--gil",
                            ),
                            *("--rate", "100", "--format", "raw", "--output", str(output)),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
        phases = []
        kill = None
        if args.kill_worker:
            kill = production.WorkerKill(
                groups.trees["fiduflow workers"][0], ledger.held_by, cpu_pair, tree
            )
            stack.cleanups.append(kill.stop_leftovers)
        for name, subset in (("text PDFs", text_docs), ("scans + photos", ocr_docs)):
            if not subset:
                continue
            print(f"{name}: {len(subset)} documents at once, load {loadavg()} …", flush=True)
            phase = run_phase(
                name,
                stack,
                firm,
                ledger,
                subset,
                groups,
                args.connections,
                args.timeout,
                kill=kill if name == "text PDFs" else None,
            )
            phases.append(phase)
            if kill is not None and name == "text PDFs":
                if kill.killed_at is None:
                    print("  the worker to kill never held a document: not killed")
                else:
                    figures["killed_worker"] = 1
                    figures["taken_up_s"] = phase.ended - kill.killed_at
                    print(
                        f"  worker-1 (pid {kill.pid}) SIGKILLed "
                        f"{kill.killed_at - phase.started:.1f} s into the burst, holding "
                        f"{kill.held} document(s); every document final "
                        f"{figures['taken_up_s']:.1f} s after the kill (lease "
                        f"{production.lease_seconds()} s); {len(kill.left)} reading "
                        "process(es) of it left running, not counted from then on",
                        flush=True,
                    )
        quiet_latencies: list[float] = []
        quiet_cpu: dict[str, float] = {}
        if quiet:
            print(f"trickle: {len(quiet)} documents, {args.gap:.0f} s apart …", flush=True)
            before = cpu_snapshot(groups)
            quiet_latencies = trickle(stack, firm, ledger, quiet, args.gap)
            after = cpu_snapshot(groups)
            quiet_cpu = {k: (after[k] - before[k]) / len(quiet) for k in before}
        for spy in spies:
            spy.send_signal(2)  # py-spy writes its file on SIGINT
        for spy in spies:
            spy.wait(60)
        peaks = sampler.stop()
        ran = flow_runs(stack.prefect_url)
        runs = Counter(name for name, _, _ in ran)

        # --- what became of the documents -------------------------------------------
        all_sent = [s for p in phases for s in p.sent]
        rows = ledger.rows(all_sent)
        acked = [s for s in all_sent if s.acked_at is not None]
        refused = [s for s in all_sent if s.acked_at is None]
        lost = [s for s in acked if s.final_at is None]
        doubled_rows = sum(
            max(0, len(rows.get((s.doc.client_id, s.sha256), [])) - 1) for s in acked
        )
        ids = [s.document_id for s in acked if s.document_id]
        outcome = ledger.outcomes(ids)
        doubled = (
            doubled_rows
            + outcome["doubled_bookings"]
            + outcome["doubled_tasks"]
            + outcome["doubled_seq"]
        )
        states = Counter(s.state for s in acked)
        correct = 0
        for s in acked:
            data = outcome["extractions"].get(s.document_id) or {}
            truth = s.doc.truth.total
            if truth is not None and data.get("total") == f"{truth:.2f}":
                correct += 1

    # --- figures ----------------------------------------------------------------------
    print()
    print(
        f"{'phase':16} {'docs':>5} {'pages':>6} {'seconds':>8} {'docs/min':>9} "
        f"{'pages/min':>10} {'p50 s':>7} {'p95 s':>7}  load (1/5 min)"
    )
    for p in phases:
        pages = sum(s.doc.pages for s in p.acked)
        lat = p.latencies
        print(
            f"{p.name:16} {len(p.acked):5} {pages:6} {p.seconds:8.1f} "
            f"{len(p.acked) / p.seconds * 60:9.1f} {pages / p.seconds * 60:10.1f} "
            f"{percentile(lat, 0.5):7.1f} {percentile(lat, 0.95):7.1f}  {p.load}"
        )
    total_s = sum(p.seconds for p in phases)
    all_lat = [x for p in phases for x in p.latencies]
    print(
        f"{'whole inbox':16} {len(acked):5} {'':6} {total_s:8.1f} "
        f"{len(acked) / total_s * 60:9.1f} {'':10} {percentile(all_lat, 0.5):7.1f} "
        f"{percentile(all_lat, 0.95):7.1f}"
    )
    if quiet_latencies:
        print(
            f"quiet system (trickle, {len(quiet_latencies)} documents {args.gap:.0f} s apart): "
            f"ack → final p50 {percentile(quiet_latencies, 0.5):.1f} s, "
            f"p95 {percentile(quiet_latencies, 0.95):.1f} s; CPU per document: "
            + ", ".join(f"{k.strip()} {v:.2f} s" for k, v in quiet_cpu.items())
        )
        figures["quiet_cpu_s"] = sum(v for k, v in quiet_cpu.items() if not k.startswith(" "))
    text_phase = next((p for p in phases if p.name == "text PDFs"), None)
    ocr_phase = next((p for p in phases if p.name == "scans + photos"), None)
    figures["text_docs_per_min"] = (
        len(text_phase.acked) / text_phase.seconds * 60 if text_phase else 0
    )
    ocr_pages = sum(s.doc.pages for s in ocr_phase.acked) if ocr_phase else 0
    figures["ocr_pages_per_min"] = ocr_pages / ocr_phase.seconds * 60 if ocr_phase else 0

    print("\nCPU seconds during each phase, by process group (children included):")
    rows_of = list(phases[0].cpu) if phases else []
    print(f"{'':26}" + "".join(f"{p.name:>18}" for p in phases))
    for group in rows_of:
        print(f"{group:26}" + "".join(f"{p.cpu[group]:18.1f}" for p in phases))
    e2e = {p.name: sum(v for k, v in p.cpu.items() if not k.startswith(" ")) for p in phases}
    print(f"{'everything':26}" + "".join(f"{e2e[p.name]:18.1f}" for p in phases))

    if floor_figures:
        if "raw ocr" in floor_figures:
            raw_ocr = floor_figures["raw ocr"]
            figures["raw_ocr_pages_per_min"] = raw_ocr["pages"] / raw_ocr["wall_s"] * 60
        if "raw text" in floor_figures:
            raw_text = floor_figures["raw text"]
            figures["raw_text_docs_per_min"] = raw_text["files"] / raw_text["wall_s"] * 60
        print("\nfloor on the same files (each in its own process; CPU with its children):")
        for label, f in floor_figures.items():
            extra_info = f" ({f['config']})" if "config" in f else ""
            if "self_cpu_s" in f:
                extra_info += f" ({f['self_cpu_s']:.1f} s CPU in the reader process itself)"
            print(
                f"  {label:12} {int(f['files']):4} files {int(f['pages']):4} pages "
                f"{f['wall_s']:7.1f} s wall {f['cpu_s']:7.1f} s CPU  → "
                f"{f['files'] / f['wall_s'] * 60:7.1f} files/min "
                f"{f['pages'] / f['wall_s'] * 60:7.1f} pages/min{extra_info}"
            )
        names = {"text PDFs": "text", "scans + photos": "ocr"}
        raw_cpu = {p.name: floor_figures[f"raw {names[p.name]}"]["cpu_s"] for p in phases}
        reader_cpu = {p.name: floor_figures[f"reader {names[p.name]}"]["cpu_s"] for p in phases}
        print("\nreading vs. our overhead (CPU seconds; overhead = everything − our reader alone):")
        for p in phases:
            overhead = e2e[p.name] - reader_cpu[p.name]
            print(
                f"  {p.name:16} everything {e2e[p.name]:7.1f}  reader {reader_cpu[p.name]:7.1f} "
                f"({100 * reader_cpu[p.name] / e2e[p.name]:.0f} % of it)  overhead "
                f"{overhead:6.1f} = {100 * overhead / raw_cpu[p.name]:5.1f} % of the raw tools' "
                f"{raw_cpu[p.name]:.1f}; per document {1000 * overhead / len(p.acked):.0f} ms"
            )
        total_overhead = sum(e2e.values()) - sum(reader_cpu[p.name] for p in phases)
        total_raw = sum(raw_cpu[p.name] for p in phases)
        figures["overhead_pct"] = 100 * total_overhead / total_raw
        figures["text_overhead_pct"] = (
            100 * (e2e["text PDFs"] - reader_cpu["text PDFs"]) / raw_cpu["text PDFs"]
            if text_phase
            else 0
        )
        if figures["ocr_pages_per_min"]:
            figures["ocr_floor_ratio"] = (
                figures["raw_ocr_pages_per_min"] / figures["ocr_pages_per_min"]
            )
            print(
                f"  OCR end to end {figures['ocr_pages_per_min']:.1f} pages/min vs. raw tesseract "
                f"{figures['raw_ocr_pages_per_min']:.1f}: {figures['ocr_floor_ratio']:.2f}× the "
                "floor's time (target ≤ 1.2)"
            )
        if figures["ocr_pages_per_min"] and "raw ocr lib" in floor_figures:
            lib = floor_figures["raw ocr lib"]
            figures["raw_lib_ocr_pages_per_min"] = lib["pages"] / lib["wall_s"] * 60
            figures["ocr_lib_floor_ratio"] = (
                figures["raw_lib_ocr_pages_per_min"] / figures["ocr_pages_per_min"]
            )
            print(
                f"  the same against libtesseract alone (tesserocr, models loaded once, "
                f"{figures['raw_lib_ocr_pages_per_min']:.1f} pages/min): "
                f"{figures['ocr_lib_floor_ratio']:.2f}×"
            )
    print(
        "\npeak RSS per process (MB): "
        + ", ".join(f"{k} {v:.0f}" for k, v in sorted(peaks.items()))
    )
    print(
        "flow runs: "
        + ", ".join(f"{n} {name}" for name, n in sorted(runs.items()))
        + (
            " (process-document: a run per quiet document, process-backlog: a batch per "
            "burst, started by the feeders of the workers)"
            if args.production
            else " (process-document: a run per quiet document, process-backlog: a batch per "
            "burst, started by serve's feeder)"
        )
    )
    # The schedules' runs (the process-inbox sweep every 5 minutes, in serve's process; the
    # daily ones each a process of its own) fall into a phase by the clock, not by load.
    on_schedule = {spec.name for spec in DEPLOYMENTS if spec.cron}  # named as their flows
    for p in phases:
        scheduled = [
            name
            for name, start, end in ran
            if name in on_schedule
            and start is not None
            and start < p.cpu_window[1]
            and (end or start) > p.cpu_window[0]
        ]
        if scheduled:
            print(f"scheduled runs during {p.name}: {', '.join(scheduled)} (their CPU counts)")
    print(
        f"documents: {len(acked)} acknowledged, {len(refused)} refused"
        f"{' (' + refused[0].reply + ')' if refused else ''}; states {dict(states)}; "
        f"bookings {dict(outcome['bookings'])}; tasks {dict(outcome['tasks'])}; "
        f"total read right {correct} of {sum(1 for s in acked if s.doc.truth.total is not None)}"
    )
    print(
        f"lost {len(lost)} (acknowledged, not final), doubled {doubled} (extra rows "
        f"{doubled_rows}, extra bookings {outcome['doubled_bookings']}, extra tasks "
        f"{outcome['doubled_tasks']}, repeated booking numbers {outcome['doubled_seq']})"
    )
    figures["p50_s"] = percentile(all_lat, 0.5)
    figures["p95_s"] = percentile(all_lat, 0.95)
    figures["lost"] = len(lost)
    figures["doubled"] = doubled
    # The serving process: serve, or the (larger) worker.
    figures["peak_rss_mb"] = peaks.get(
        "fiduflow worker" if args.production else "fiduflow serve", 0.0
    )
    figures["docs_per_min"] = len(acked) / total_s * 60 if total_s else 0
    if quiet_latencies:
        figures["quiet_p50_s"] = percentile(quiet_latencies, 0.5)
        figures["quiet_p95_s"] = percentile(quiet_latencies, 0.95)
    figures["load_avg_1m"] = os.getloadavg()[0]
    keys = [
        "text_docs_per_min",
        "ocr_pages_per_min",
        "raw_ocr_pages_per_min",
        "overhead_pct",
        "p50_s",
        "p95_s",
        "lost",
        "doubled",
        "peak_rss_mb",
    ]
    figures["topology"] = topology
    last = ["topology", "killed_worker", "taken_up_s"]
    keys += [k for k in figures if k not in keys and k not in last] + last
    print(
        " ".join(
            f"{k}={figures[k]}" if isinstance(figures[k], int | str) else f"{k}={figures[k]:.2f}"
            for k in keys
            if k in figures
        )
    )
    return 1 if lost or doubled or refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
