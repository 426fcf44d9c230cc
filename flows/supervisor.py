"""`fiduflow serve` as an operator starts and stops it: one per data folder, its ports
checked before anything starts, and everything it started stopped with it.

The command is a small supervisor (this module) around the serving process
(flows/serve.py), which runs in a session of its own with everything it starts: Prefect's
local server, the parse and OCR workers, the MIME parsers' forkserver.

- **Ctrl-C.** A terminal sends SIGINT to its whole foreground process group. While serve
  shared its group with its children, one Ctrl-C stopped Prefect's server and the workers
  at once, under the running flows, which then retried against a server that was gone:
  ~2.5 minutes and hundreds of log lines with tracebacks (SIGTERM: 5–7 s). Now Ctrl-C
  reaches the supervisor alone, which asks the serving process to stop with SIGTERM —
  Prefect's graceful shutdown. A second Ctrl-C stops it at once (the documents it held
  come back through their leases).
- **Nothing left behind.** However the serving process ends, the supervisor then stops
  every process it left: its process group, and (Linux) every orphan of its tree, whose
  subreaper the supervisor is. Killed itself, the supervisor takes the serving process
  along (PR_SET_PDEATHSIG sends it SIGTERM).
- **One serve per data folder.** The supervisor holds DATA_DIR/serve.pid locked (flock;
  the serving process inherits the lock) while either runs. A second serve there says
  "already running (pid …, data …)" and exits 1 before it touches anything; so does one
  whose SMTP or HTTP port another serve listens on. A Prefect server on the port that an
  earlier serve of this data folder left behind is stopped and replaced (it is ours, and
  no serve owns it: we hold the lock); one that is not ours is never used.
"""

import contextlib
import ctypes
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from domain.settings import Settings, get_settings
from flows import prefect_env
from flows.runtime import data_summary

console = Console(stderr=True, soft_wrap=True)

# Set in the serving process's environment: the supervisor's pid.
SUPERVISOR_ENV = "FIDUFLOW_SERVE_SUPERVISOR"
LOCK_FILE = "serve.pid"
STOP_GRACE_S = 10.0  # what the serving process left gets this long after SIGTERM
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


class Refused(Exception):
    """serve must not start here; the message says why and what to do."""


def supervised() -> bool:
    """True in the serving process that a supervisor started (its parent)."""
    return os.environ.get(SUPERVISOR_ENV) == str(os.getppid())


# --- one serve per data folder -------------------------------------------------------------


class ServeLock:
    """DATA_DIR/serve.pid, locked while a serve runs there; it names the supervisor."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self.fd = -1

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").split()
            os.close(fd)
            pid = holder[0] if holder else "?"
            raise Refused(already_running(pid, str(self.data_dir))) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{self.data_dir}\n".encode(), 0)
        self.fd = fd


def already_running(pid: int | str, data: str) -> str:
    return (
        f"fiduflow serve is already running (pid {pid}, data {data}); stop it first "
        f"(Ctrl-C in its terminal, or `kill {pid}`)"
    )


# --- ports and who holds them --------------------------------------------------------------


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (as ours do: SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            # Another error (e.g. an address not of this host): the server says so itself.
            return exc.errno != errno.EADDRINUSE
    return True


def listener(port: int) -> int | None:
    """The pid of the process listening on TCP `port` on this machine (Linux, own
    processes), if it can be found."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            listening = len(fields) > 9 and fields[3] == "0A"  # 0A: LISTEN
            if listening and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in _pids():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{entry}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry}/fd/{fd}") in wanted:
                        return entry
    return None


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)[:120]


def environment(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {name: value for name, _, value in pairs}


def serve_of(pid: int) -> tuple[str, str] | None:
    """(supervisor pid, data folder) when `pid` belongs to a running fiduflow serve."""
    env = environment(pid)
    supervisor = env.get(SUPERVISOR_ENV)
    if not supervisor or not Path(f"/proc/{supervisor}").exists():
        return None
    return supervisor, env.get("FIDUFLOW_DATA_DIR", "?")


def check_port(host: str, port: int, setting: str, what: str) -> None:
    """Refused, naming who holds it, when `port` is taken."""
    if port_free(host, port):
        return
    pid = listener(port)
    if pid is None:
        raise Refused(
            f"port {port} ({setting}, {what}) is in use by another program; stop it or "
            f"choose another port with {setting}"
        )
    serve = serve_of(pid)
    if serve is not None:
        raise Refused(
            already_running(*serve) + f"; it listens on port {port} ({setting}). Two "
            "serves at once need other ports (FIDUFLOW_SMTP_PORT, FIDUFLOW_HTTP_PORT, "
            "FIDUFLOW_PREFECT_PORT) and other data folders"
        )
    raise Refused(
        f"port {port} ({setting}, {what}) is in use by pid {pid} ({command_line(pid)}); "
        f"stop it or choose another port with {setting}"
    )


# --- Prefect's local server: ours or none ----------------------------------------------------


def _our_prefect_server(pid: int) -> bool:
    """A `prefect server start` with this data folder's Prefect home: one a serve of this
    data folder started (prefect_env.local_server_env)."""
    command = command_line(pid)
    if "prefect" not in command or "server" not in command:
        return False
    return environment(pid).get("PREFECT_HOME") == str(prefect_env.prefect_home())


def _stop_process(pid: int, grace: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def clear_prefect_port(settings: Settings) -> list[str]:
    """Before serve starts its own Prefect server: stop the one an earlier serve of this data
    folder left running (lines saying so); Refused when another program holds the port.

    Never attach to a server found on the port: a stale one runs with the settings and the
    code of its time, and nobody would stop it with this serve."""
    notes: list[str] = []
    recorded = prefect_env.server_pid_file()
    try:
        pid: int | None = int(recorded.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    port = settings.prefect_port
    holder = None if port_free(prefect_env.LOCAL_SERVER_HOST, port) else listener(port)
    for stale in dict.fromkeys(p for p in (pid, holder) if p):
        if _alive(stale) and _our_prefect_server(stale):
            _stop_process(stale)
            notes.append(
                f"stopped the Prefect server (pid {stale}) an earlier fiduflow serve of this "
                "data folder left running"
            )
    with contextlib.suppress(OSError):
        recorded.unlink()
    deadline = time.monotonic() + (10 if notes else 0)  # a stopped server lets go of it
    while not port_free(prefect_env.LOCAL_SERVER_HOST, port) and time.monotonic() < deadline:
        time.sleep(0.2)
    check_port(prefect_env.LOCAL_SERVER_HOST, port, "FIDUFLOW_PREFECT_PORT", "Prefect's server")
    return notes


# --- processes -----------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of `pid`, from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2])


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    if stat is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not Path("/proc").is_dir()  # /proc says it is gone; without /proc, alive
    return stat[0] != "Z"


def leftovers(group: int) -> set[int]:
    """Live processes in process group `group` or below this process (orphans of the
    serving process's tree are adopted by this one, their subreaper)."""
    me = os.getpid()
    table = {pid: stat for pid in _pids() if (stat := _stat(pid)) is not None}
    found = {pid for pid, (_, _, pgrp) in table.items() if pgrp == group}
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    todo = list(children.get(me, []))
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return {pid for pid in found - {me} if table.get(pid, ("Z",))[0] != "Z"}


def _reap() -> None:
    """Collect adopted children that ended (they would stay zombies)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_leftovers(group: int, grace: float = STOP_GRACE_S) -> list[str]:
    """SIGTERM to what the serving process left, SIGKILL after `grace` s; what had to be
    killed (command lines)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGTERM)
    for pid in leftovers(group):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap()
        if not leftovers(group):
            return []
        time.sleep(0.1)
    killed = []
    for pid in leftovers(group):
        killed.append(f"{command_line(pid)} (pid {pid})")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while leftovers(group) and time.monotonic() < deadline:
        _reap()
        time.sleep(0.1)
    _reap()
    return killed


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


# --- the supervisor ------------------------------------------------------------------------


def run(command: list[str] | None = None) -> int:
    """`fiduflow serve`: checks, then the serving process (`command`, default this CLI's
    `serve` again) supervised until it ends; its exit code."""
    settings = get_settings()
    data = settings.data_dir.resolve()
    console.print(data_summary(settings))
    data.mkdir(parents=True, exist_ok=True, mode=0o700)  # serve may make a new one
    lock = ServeLock(data)
    try:
        lock.acquire()
        check_port(settings.smtp_host, settings.smtp_port, "FIDUFLOW_SMTP_PORT", "SMTP intake")
        check_port(settings.http_host, settings.http_port, "FIDUFLOW_HTTP_PORT", "HTTP intake")
        notes = [] if os.environ.get("PREFECT_API_URL") else clear_prefect_port(settings)
    except Refused as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 1
    for note in notes:
        console.print(f"[yellow]{note}[/yellow]")
    return supervise(
        command or [sys.executable, "-m", "flows.cli", "serve"],
        env={SUPERVISOR_ENV: str(os.getpid()), "FIDUFLOW_DATA_DIR": str(data)},
        pass_fds=(lock.fd,),
    )


def supervise(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    pass_fds: tuple[int, ...] = (),
    on_stop: Callable[[int], None] | None = None,
) -> int:
    """Run `command` in a session of its own until it ends, turning the first SIGINT,
    SIGTERM or SIGHUP into its SIGTERM and the second into SIGKILL; then stop whatever it
    left. Its exit code (128 + n when signal n ended it)."""
    libc = _libc()
    if libc is not None:  # orphans of its tree become ours, to stop at the end
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    me = os.getpid()

    def die_with_supervisor() -> None:  # in the child, before exec
        if libc is not None:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != me:  # the supervisor died before the line above
            os._exit(1)

    child: subprocess.Popen[bytes] | None = None
    signals = 0

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal signals
        signals += 1
        if child is None:
            return
        if signals == 1:
            console.print("stopping fiduflow serve … (Ctrl-C again stops it at once)")
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
        else:
            console.print("stopping fiduflow serve at once")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
        if on_stop is not None:
            on_stop(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # e.g. SIGHUP under nohup
            signal.signal(signum, on_signal)
    child = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        pass_fds=pass_fds,
        start_new_session=True,
        preexec_fn=die_with_supervisor,  # safe: this process runs no threads
    )
    if signals:  # asked to stop while it was starting
        os.kill(child.pid, signal.SIGTERM)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)  # also reaps adopted orphans that end
        except ChildProcessError:
            status = 0
            break
        if pid == child.pid:
            break
    child.returncode = _exit_code(status)
    killed = stop_leftovers(child.pid)
    if killed:
        console.print("[yellow]stopped what fiduflow serve left running:[/yellow]")
        for line in killed:
            console.print(f"  {line}")
    return child.returncode
