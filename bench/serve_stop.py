"""How `fiduflow serve` stops: a real serve in a fresh data folder, documents mailed to it,
then the signal an operator sends — Ctrl-C (SIGINT to the whole process group, as a
terminal sends it) or SIGTERM (to serve's pid) — and what it cost: seconds until it ended,
log lines and tracebacks after the signal, processes it left running.

    .venv/bin/python bench/serve_stop.py --signal INT --documents 12
    .venv/bin/python bench/serve_stop.py --signal TERM --documents 12

Every second document is a scan (OCR: still in flight when the signal comes). Ends with
one `key=value` line.
"""

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import free_port  # noqa: E402
from tests.docgen.degrade import scan  # noqa: E402
from tests.factories import invoice, mail_pdf  # noqa: E402

FIDUFLOW = str(Path(sys.executable).with_name("fiduflow"))


def descendants(pid: int) -> dict[int, str]:
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                try:
                    command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                found[child] = command.decode(errors="replace")[:100]
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def mail(port: int, count: int) -> None:
    for n in range(count):
        document = invoice("C02", number=n + 1, seed=7)
        if n % 2:
            document = scan(document, random.Random(n), dpi=200)
        mail_pdf(port, document.data, subject=f"Rechnung {n + 1}", filename=f"r{n}.pdf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signal", choices=["INT", "TERM"], default="INT")
    parser.add_argument("--documents", type=int, default=12)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before the signal")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="serve-stop-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FIDUFLOW_"))}
    smtp_port = free_port()
    env.update(
        FIDUFLOW_DATA_DIR=str(work / "data"),
        FIDUFLOW_SMTP_PORT=str(smtp_port),
        FIDUFLOW_HTTP_PORT=str(free_port()),
        FIDUFLOW_PREFECT_PORT=str(free_port()),
    )
    demo = str(ROOT / "examples" / "demo.yaml")
    subprocess.run([FIDUFLOW, "setup", "load", demo], env=env, cwd=work, check=True)
    log = work / "serve.log"
    started = time.monotonic()
    serve = subprocess.Popen(
        [FIDUFLOW, "serve"],
        env=env,
        cwd=work,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    left: dict[int, str] = {}
    try:
        while "fiduflow is running" not in log.read_text(errors="replace"):
            if serve.poll() is not None or time.monotonic() - started > 240:
                raise SystemExit("serve did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.5)
        print(f"started in {time.monotonic() - started:.1f} s; {args.documents} documents …")
        mail(smtp_port, args.documents)
        time.sleep(args.settle)
        tree = descendants(serve.pid)
        lines_before = len(log.read_text(errors="replace").splitlines())
        signalled = time.monotonic()
        if args.signal == "INT":
            os.killpg(serve.pid, signal.SIGINT)
        else:
            os.kill(serve.pid, signal.SIGTERM)
        try:
            code: int | str = serve.wait(600)
        except subprocess.TimeoutExpired:
            code = "still running after 600 s"
        took = time.monotonic() - signalled
        time.sleep(2)
        after = log.read_text(errors="replace").splitlines()[lines_before:]
        tracebacks = sum("Traceback" in line for line in after)
        left = {pid: command for pid, command in tree.items() if alive(pid)}
        print(
            f"SIG{args.signal}: exit {code} after {took:.1f} s; {len(after)} log lines and "
            f"{tracebacks} tracebacks after the signal; {len(left)} of the {len(tree)} "
            "processes below serve left running"
        )
        for pid, command in left.items():
            print(f"  left running: {pid} {command}")
        print(
            f"signal={args.signal} stop_s={took:.1f} exit={code} log_lines={len(after)} "
            f"tracebacks={tracebacks} left={len(left)}"
        )
    finally:
        for pid in [*([serve.pid] if serve.poll() is None else []), *left]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
