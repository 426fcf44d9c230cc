"""`fiduflow serve` started and stopped as an operator does it: real processes, real ports.

- one serve per data folder: a second one there — or one on the same ports — says
  "already running (pid …, data …)", exits 1 within seconds and touches nothing;
- one Ctrl-C (SIGINT to the terminal's foreground process group, as a terminal sends it)
  stops serve as cleanly and as fast as SIGTERM, with documents in flight: no traceback,
  every process it started gone (Prefect's server, parse and OCR workers, forkserver);
- killed outright, serve leaves its Prefect server listening (parent 1); the next serve
  of the data folder stops that one and starts its own, and a serve whose supervisor is
  killed stops with everything it started;
- a server on the Prefect port that is not this data folder's is never used.
"""

import contextlib
import fcntl
import http.server
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from storage.db import Database
from tests.conftest import free_port
from tests.docgen.degrade import scan
from tests.factories import invoice, load, mail_pdf, master_data

ROOT = Path(__file__).resolve().parent.parent
FIDUFLOW = str(Path(sys.executable).with_name("fiduflow"))
STARTED = "fiduflow is running"
# SIGTERM stops serve in 5–10 s on this machine with documents in flight; a Ctrl-C took
# ~160 s before it was handled like one. A generous bound, as the house rules ask.
STOP_WITHIN_S = 45

pytestmark = [pytest.mark.slow, pytest.mark.smtp, pytest.mark.timeout(900)]


class Serve:
    """One `fiduflow serve` on its own ports, run as a terminal runs a job: in a process
    group of its own, which a Ctrl-C signals as a whole."""

    def __init__(self, tmp: Path, name: str, data: Path, **ports: int) -> None:
        self.data = data
        self.log = tmp / f"{name}.log"
        self.ports = {
            "smtp": ports.get("smtp") or free_port(),
            "http": ports.get("http") or free_port(),
            "prefect": ports.get("prefect") or free_port(),
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FIDUFLOW_"))}
        env.update(
            FIDUFLOW_DATA_DIR=str(data),
            FIDUFLOW_SMTP_PORT=str(self.ports["smtp"]),
            FIDUFLOW_HTTP_PORT=str(self.ports["http"]),
            FIDUFLOW_PREFECT_PORT=str(self.ports["prefect"]),
            FIDUFLOW_OCR_PROCESSES="2",
        )
        self.env = env
        self.process: subprocess.Popen | None = None
        self.seen: set[int] = set()  # every process of its tree we saw, to clean up after

    def start(self) -> "Serve":
        self.process = subprocess.Popen(
            [FIDUFLOW, "serve"],
            env=self.env,
            cwd=self.log.parent,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 240
        while STARTED not in self.text():
            assert self.process.poll() is None, self.text()[-4000:]
            assert time.monotonic() < deadline, "serve did not start\n" + self.text()[-4000:]
            time.sleep(0.5)
        self.tree()
        return self

    def run_once(self, timeout: float = 120) -> subprocess.CompletedProcess:
        """`fiduflow serve` expected to refuse: to its end, with what it printed."""
        return subprocess.run(
            [FIDUFLOW, "serve"],
            env=self.env,
            cwd=self.log.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tree(self) -> dict[int, str]:
        assert self.process is not None
        found = descendants(self.process.pid)
        self.seen |= set(found)
        return found

    def serving_pid(self) -> int:
        [pid] = [p for p, command in self.tree().items() if "flows.cli serve" in command]
        return pid

    def server_pid(self) -> int:
        return int((self.data / "prefect" / "server.pid").read_text().split()[0])

    def kill_all(self) -> None:
        for pid in [*(self.seen), *([self.process.pid] if self.process else [])]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid`: pid → command line."""
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{parent}/task"):
                with contextlib.suppress(OSError):
                    children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
                    for child in map(int, children):
                        found[child] = command_line(child)
                        todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while (left := {p for p in pids if alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def listening(port: int) -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def firm(data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    database = Database(f"sqlite:///{data / 'fiduflow.db'}")
    database.migrate()
    load(database, master_data())
    database.dispose()


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def flat(text: str) -> str:
    return " ".join(text.split())


def mail_documents(port: int, count: int) -> None:
    """Invoices to the offline client, every second one a scan (OCR: in flight longer)."""
    for n in range(count):
        document = invoice("C02", number=n + 1, seed=17)
        if n % 2:
            document = scan(document, random.Random(n), dpi=200)
        mail_pdf(port, document.data, subject=f"Rechnung {n + 1}", filename=f"rechnung-{n}.pdf")


def test_one_serve_per_data_folder_and_one_ctrl_c_stops_all_it_started(tmp_path):
    data = tmp_path / "data"
    firm(data)
    first = Serve(tmp_path, "first", data)
    try:
        first.start()
        tree = first.tree()
        assert any("prefect server start" in command for command in tree.values()), tree
        before = files(data)

        # The same data folder, other ports: refused at once, nothing touched.
        again = Serve(tmp_path, "again", data)
        started = time.monotonic()
        refused = again.run_once()
        assert refused.returncode == 1, refused.stdout + refused.stderr
        said = flat(refused.stderr)
        assert f"already running (pid {first.process.pid}, data {data})" in said, said
        assert "Traceback" not in refused.stderr
        assert time.monotonic() - started < 30
        assert files(data) == before
        assert not listening(again.ports["smtp"]) and not listening(again.ports["prefect"])

        # Another data folder on the same ports: refused, naming the serve that has them.
        other = tmp_path / "other"
        firm(other)
        clash = Serve(tmp_path, "clash", other, **first.ports).run_once()
        assert clash.returncode == 1, clash.stdout + clash.stderr
        said = flat(clash.stderr)
        assert f"already running (pid {first.process.pid}, data {data})" in said, said
        assert f"port {first.ports['smtp']} (FIDUFLOW_SMTP_PORT)" in said
        assert "Traceback" not in clash.stderr and "Errno 98" not in clash.stderr
        assert not (other / "prefect" / "server.pid").exists()
        assert STARTED in first.text() and first.process.poll() is None

        # Documents in flight, then one Ctrl-C, as a terminal sends it: to the group.
        mail_documents(first.ports["smtp"], 6)
        tree = first.tree()
        lines_before = len(first.text().splitlines())
        started = time.monotonic()
        os.killpg(first.process.pid, signal.SIGINT)
        code = first.process.wait(STOP_WITHIN_S + 60)
        took = time.monotonic() - started

        after = first.text().splitlines()[lines_before:]
        assert took < STOP_WITHIN_S, f"{took:.1f} s\n" + "\n".join(after[-60:])
        assert code == 0, "\n".join(after[-60:])
        assert not any("Traceback" in line for line in after), "\n".join(after)
        assert len(after) < 200, len(after)
        assert wait_gone(set(tree), 5) == set(), {p: tree[p] for p in tree if alive(p)}
        assert not listening(first.ports["prefect"]) and not listening(first.ports["smtp"])
        with open(data / "serve.pid") as lock:  # released: the next serve may start
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        first.kill_all()


def test_what_a_killed_serve_left_is_stopped_by_the_next(tmp_path):
    data = tmp_path / "data"
    firm(data)
    first, second = Serve(tmp_path, "first", data), Serve(tmp_path, "second", data)
    stale = None
    try:
        first.start()
        stale = first.server_pid()
        serving = first.serving_pid()
        # Killed outright, both at once (`kill -9`, the OOM killer): nothing can clean up.
        os.kill(first.process.pid, signal.SIGKILL)
        os.kill(serving, signal.SIGKILL)
        first.process.wait(10)
        assert wait_gone({serving}, 10) == set()
        time.sleep(2)
        assert alive(stale) and listening(first.ports["prefect"])  # orphaned, still listening

        second.ports["prefect"] = first.ports["prefect"]
        second.env["FIDUFLOW_PREFECT_PORT"] = str(first.ports["prefect"])
        second.start()
        said = flat(second.text())
        assert f"stopped the Prefect server (pid {stale}) an earlier fiduflow serve" in said
        assert not alive(stale)
        assert second.server_pid() != stale and listening(second.ports["prefect"])

        # Its supervisor killed alone: the serving process stops, with all it started.
        tree = second.tree()
        os.kill(second.process.pid, signal.SIGKILL)
        second.process.wait(10)
        left = wait_gone(set(tree), STOP_WITHIN_S + 30)
        assert left == set(), {p: tree[p] for p in left}
        assert not listening(second.ports["prefect"])
    finally:
        first.kill_all()
        second.kill_all()
        if stale is not None:
            with contextlib.suppress(OSError):
                os.kill(stale, signal.SIGKILL)


def test_serve_never_uses_a_server_on_its_prefect_port_that_is_not_its_own(tmp_path):
    """A server that answers like a Prefect server without a login (another program, an
    old server of another folder): serve refuses and says who has the port."""
    asked: list[str] = []

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's hook name
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"true")

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    foreign = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=foreign.serve_forever, daemon=True).start()
    port = foreign.server_address[1]
    data = tmp_path / "data"
    firm(data)
    try:
        started = time.monotonic()
        refused = Serve(tmp_path, "refused", data, prefect=port).run_once()
        took = time.monotonic() - started
    finally:
        foreign.shutdown()
    said = flat(refused.stderr)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"port {port} (FIDUFLOW_PREFECT_PORT, Prefect's server) is in use by pid" in said
    assert f"pid {os.getpid()} " in said, said  # this test process holds it
    assert asked == []  # never asked anything: not used, not even looked at
    assert "Traceback" not in refused.stderr
    assert took < 30
    assert not (data / "prefect" / "server.pid").exists()
