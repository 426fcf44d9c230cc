"""Load on the SMTP intake: N mails over K parallel connections; figures, not a test.

    .venv/bin/python bench/smtp_load.py [-n 1000] [-k 4] [--size 200000]
    .venv/bin/python bench/smtp_load.py --port 2525 --pid PID --database-url URL --to ADDR

Without --port it starts `fiduflow smtp` (the production SMTP intake process: the real
CLI, settings from the environment) on a free port in a temporary data folder (SQLite +
files, or --database-url), with FIDUFLOW_DISPATCH=none so that the figures are the
intake's alone (the sweep processes the documents later). With --port it loads an
already running `fiduflow serve` / `fiduflow smtp` (give --pid to sample its memory).

Each mail carries one PDF of ~--size bytes with unique (random) content. Printed: mails/s
accepted, p50/p99/max time from the end of DATA to the `250`, any non-250 reply, the SMTP
process's RSS (start / peak / end), and the check that exactly N documents (and N raw
mails) were recorded with their originals in the object store. Targets on the 2-core
machine: >= 50 mails/s, p99 < 250 ms, zero lost, RSS bounded.
"""

import argparse
import base64
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEMO_FIRM = """
fiduciary: {name: Treuhand Muster AG, inbound_domain: in.treuhand.example}
staff: [{username: anna, token: bench-staff-token}]
clients:
  - {id: C01, name: Muster Bau AG, mode: online, inbound: muster-7f3a9c@in.treuhand.example}
"""
DEFAULT_TO = "muster-7f3a9c@in.treuhand.example"


# --- mails -----------------------------------------------------------------------------


def pdf(size: int) -> bytes:
    """A PDF-looking file of ~size bytes; random hex comment lines make every one unique."""
    head = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    raw = os.urandom(max(0, size - 200) // 2).hex().encode()
    body = b"".join(b"% " + raw[i : i + 72] + b"\n" for i in range(0, len(raw), 72))
    return head + body + b"trailer<</Root 1 0 R>>\n%%EOF\n"


def mail(run: str, index: int, to: str, size: int) -> bytes:
    """One RFC 5322 mail with CRLF line ends, built by hand (the email package is slow)."""
    boundary = uuid.uuid4().hex
    encoded = base64.encodebytes(pdf(size)).replace(b"\n", b"\r\n")
    head = (
        f"From: Bench <bench@sender.example>\r\nTo: {to}\r\n"
        f"Subject: Rechnung {index}\r\nMessage-ID: <bench-{run}-{index}@sender.example>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary={boundary}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAnbei die Rechnung.\r\n"
        f"--{boundary}\r\nContent-Type: application/pdf\r\n"
        f'Content-Disposition: attachment; filename="rechnung-{index}.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    return head + encoded + f"--{boundary}--\r\n".encode()


# --- the client ------------------------------------------------------------------------


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)  # DATA end → reply, seconds
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def sender(host: str, port: int, to: str, mails: list[tuple[int, bytes]], results: Results) -> None:
    """One connection delivering its share of the mails, one after another (like an MTA)."""
    import smtplib

    client = smtplib.SMTP(host, port, timeout=120)
    client.ehlo("bench.sender.example")
    try:
        for index, data in mails:
            code, reply = client.mail("bench@sender.example", [f"SIZE={len(data)}"])
            if code == 250:
                code, reply = client.rcpt(to)
            if code != 250:
                client.rset()
                with results.lock:
                    results.failures.append(f"{index}: {code} {reply!r}")
                continue
            client.putcmd("data")
            code, reply = client.getreply()
            if code != 354:
                with results.lock:
                    results.failures.append(f"{index}: DATA {code} {reply!r}")
                continue
            # The mail ends in CRLF and has no line starting with "." (base64, headers).
            client.send(data + b".\r\n")
            started = time.perf_counter()
            code, reply = client.getreply()
            elapsed = time.perf_counter() - started
            with results.lock:
                results.latencies.append(elapsed)
                if code != 250:
                    results.failures.append(f"{index}: {code} {reply!r}")
    finally:
        client.quit()


# --- the server and its memory ---------------------------------------------------------


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> tuple[float, float]:
    """(CPU of the process, CPU of its live descendants), in seconds."""
    children = 0.0
    for child in descendants(pid):
        with contextlib.suppress(OSError):
            children += cpu_seconds(child)
    return cpu_seconds(pid), children


def descendants(pid: int) -> list[int]:
    """Child processes, all levels (the MIME parser workers and their forkserver)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class RssSampler(threading.Thread):
    """RSS of the SMTP process, and of it with its parser processes, every `every` s."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[int] = []
        self.tree: list[int] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                main = rss_kib(self.pid)
            except OSError:
                return
            children = 0
            for child in descendants(self.pid):
                with contextlib.suppress(OSError):
                    children += rss_kib(child)
            self.samples.append(main)
            self.tree.append(main + children)
            self.stop_event.wait(self.every)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_fiduflow_smtp(data_dir: Path, database_url: str | None) -> tuple[subprocess.Popen, int]:
    fiduflow = str(Path(sys.executable).with_name("fiduflow"))
    port = free_port()
    env = {
        **os.environ,
        "FIDUFLOW_DATA_DIR": str(data_dir),
        "FIDUFLOW_SMTP_PORT": str(port),
        "FIDUFLOW_DISPATCH": "none",
        "PREFECT_HOME": str(data_dir / "prefect"),
    }
    if database_url:
        env["FIDUFLOW_DATABASE_URL"] = database_url
    firm = data_dir / "firm.yaml"
    firm.write_text(DEMO_FIRM)
    subprocess.run(
        [fiduflow, "setup", "load", str(firm)], env=env, check=True, stdout=subprocess.DEVNULL
    )
    process = subprocess.Popen([fiduflow, "smtp"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("`fiduflow smtp` stopped at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("`fiduflow smtp` did not listen within 60 s")


# --- checking what was stored ------------------------------------------------------------


def check_stored(
    run: str, n: int, database_url: str, data_dir: Path | None
) -> tuple[int, int, int]:
    """(documents, messages, originals present) recorded for this run's mails."""
    from sqlalchemy import func, select

    from domain.settings import Settings
    from storage.db import Database
    from storage.objects import open_object_store
    from storage.tables import DocumentRow, MessageRow

    db = Database(database_url)
    pattern = f"<bench-{run}-%"
    with db.session() as session:
        documents = list(
            session.scalars(select(DocumentRow.sha256).where(DocumentRow.message_id.like(pattern)))
        )
        messages = session.scalar(
            select(func.count()).select_from(MessageRow).where(MessageRow.message_id.like(pattern))
        )
    db.dispose()
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    store = open_object_store(settings)
    present = sum(1 for sha in documents if store.get_original(sha))
    return len(documents), int(messages or 0), present


# --- main ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--mails", type=int, default=1000)
    parser.add_argument("-k", "--connections", type=int, default=4)
    parser.add_argument("--size", type=int, default=200_000, help="PDF bytes per mail")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="a running SMTP intake (default: start one)")
    parser.add_argument("--pid", type=int, help="its process id, to sample its memory")
    parser.add_argument("--to", default=DEFAULT_TO, help="an inbound address of the firm")
    parser.add_argument("--database-url", help="the intake's database (to count documents)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    process = None
    data_dir: Path | None = None
    if args.port is None:
        data_dir = Path(tempfile.mkdtemp(prefix="fiduflow-smtp-bench-"))
        process, port = start_fiduflow_smtp(data_dir, args.database_url)
        pid: int | None = process.pid
        database_url = args.database_url or f"sqlite:///{data_dir / 'fiduflow.db'}"
        where = f"`fiduflow smtp` started by the bench (data in {data_dir})"
    else:
        port, pid = args.port, args.pid
        from domain.settings import Settings

        database_url = args.database_url or Settings().resolved_database_url
        where = f"running intake on {args.host}:{port}"
    backend = database_url.split(":", 1)[0]
    print(
        f"{args.mails} mails of ~{args.size // 1000} KB over {args.connections} connections "
        f"to {where}; database {backend}"
    )

    sampler = RssSampler(pid) if pid else None
    if sampler:
        sampler.start()
        time.sleep(0.3)
    results = Results()
    shares = [range(i, args.mails, args.connections) for i in range(args.connections)]
    # Built before the clock starts: on a 2-core machine the senders' CPU would otherwise
    # be taken from the server under test (real senders are other machines).
    batches = [[(i, mail(run, i, args.to, args.size)) for i in share] for share in shares]
    threads = [
        threading.Thread(target=sender, args=(args.host, port, args.to, batch, results))
        for batch in batches
    ]
    cpu_before = tree_cpu(pid) if pid else (0.0, 0.0)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cpu_after = tree_cpu(pid) if pid else (0.0, 0.0)
    load = os.getloadavg()[0]
    if sampler:
        time.sleep(0.3)
        sampler.stop_event.set()
        sampler.join()

    try:
        documents, messages, present = check_stored(run, args.mails, database_url, data_dir)
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        if data_dir is not None and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)

    latencies = sorted(results.latencies)
    accepted = len(latencies) - len(results.failures)
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else float("nan")
    print(f"accepted      {accepted}/{args.mails} in {wall:.1f} s = {accepted / wall:.1f} mails/s")
    print(f"DATA end→250  p50 {p50:.1f} ms   p99 {p99:.1f} ms   max {latencies[-1] * 1000:.1f} ms")
    if results.failures:
        print(f"failures      {len(results.failures)}, e.g. {results.failures[:3]}")
    if sampler and sampler.samples:
        s = sampler.samples
        print(
            f"SMTP RSS      start {s[0] / 1024:.0f} MiB   peak {max(s) / 1024:.0f} MiB   "
            f"end {s[-1] / 1024:.0f} MiB   (with its parser processes: peak "
            f"{max(sampler.tree) / 1024:.0f} MiB)"
        )
    if pid:
        main_ms = (cpu_after[0] - cpu_before[0]) / args.mails * 1000
        parse_ms = (cpu_after[1] - cpu_before[1]) / args.mails * 1000
        print(
            f"SMTP CPU      {main_ms:.1f} ms/mail in the SMTP process + {parse_ms:.1f} ms/mail "
            f"in its parser processes (load average during the run: {load:.1f} on "
            f"{os.cpu_count()} cores)"
        )
    lost = args.mails - documents
    print(
        f"stored        {documents} documents, {messages} mails, {present} originals verified; "
        f"lost {lost}"
    )
    ok = documents == args.mails == messages == present and not results.failures
    print(
        f"RESULT mails_per_s={accepted / wall:.1f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
        f"documents={documents} lost={lost} {'OK' if ok else 'FAILED'}"
    )
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
