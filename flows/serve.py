"""`fiduflow serve`: everything of the embedded default in one process.

The serving process of `fiduflow serve`: flows/supervisor.py starts it in a session of its
own after its checks (one serve per data folder, free ports), turns Ctrl-C into its SIGTERM
and stops whatever it leaves when it ends.

1. Prefect: use PREFECT_API_URL if set, else start Prefect's local server (SQLite, under
   DATA_DIR/prefect; on 127.0.0.1 only, with a login kept in DATA_DIR/prefect/api-auth —
   flows/prefect_env.py) and record its address for the other `fiduflow` commands. Never
   one found running: the supervisor stopped a server an earlier serve left, or refused.
2. The database schema is migrated, the object store opened.
3. The `ocr` tag concurrency limit is set (one OCR step per core at once, whichever
   worker runs it), so a flood of scans cannot take every slot. Runs a previous serve
   left Pending or Running in its own process are marked Crashed.
4. SMTP and HTTP intake run in threads; each recorded document wakes the feeder
   (flows/feeder.py, the same as in every `fiduflow worker`): a `process-document` run per
   document, executed in this process, while few are due; one `process-backlog` batch
   when more are due than `FIDUFLOW_DOCUMENT_RUNS` (decision 0012).
5. The deployments of `flows.deployments` are registered with their schedules (Europe/
   Zurich) and their due runs — schedules, runs retried or started from the UI — run in
   this process, at most 3 at once: the same warm worker as `fiduflow worker` in
   production (flows/warm_worker.py; decision 0011 says why not Prefect's runner, which
   starts a new process per run). Stopped, serve pauses their schedules and applies them
   again at its next start.
"""

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from rich.console import Console

from domain.enums import DispatchMode
from domain.settings import Settings
from flows import prefect_env

console = Console(stderr=True)


def start_prefect_server(port: int) -> str:
    """Prefect's local server on loopback, asking for the login this process (and what it
    starts) then sends as PREFECT_API_AUTH_STRING; its API URL."""
    host = prefect_env.LOCAL_SERVER_HOST
    url = f"http://{host}:{port}/api"
    auth = prefect_env.local_auth()
    os.environ["PREFECT_API_AUTH_STRING"] = auth
    if prefect_env.healthy(url):  # the supervisor checked; something took the port since
        raise SystemExit(f"port {port} (FIDUFLOW_PREFECT_PORT) is taken by another server")
    home = prefect_env.prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "server.log", "ab")  # noqa: SIM115 - lives as long as the server
    console.print(f"starting Prefect's local server on {host}:{port} (log: {log.name}) …")
    process = subprocess.Popen(
        prefect_env.local_server_command(port),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=prefect_env.local_server_env(port, auth),
    )
    prefect_env.server_pid_file().write_text(f"{process.pid}\n")
    atexit.register(_stop, process)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Prefect's server stopped at start; see {log.name}")
        if prefect_env.healthy(url):
            return url
        time.sleep(0.5)
    raise SystemExit(f"Prefect's server did not become healthy in 120 s; see {log.name}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    with contextlib.suppress(OSError):
        prefect_env.server_pid_file().unlink()


def start_intake(runtime, dispatcher) -> tuple[list[Callable[[], None]], list[str]]:  # type: ignore[no-untyped-def]
    """SMTP and HTTP intake in this process; returns (stoppers, banner lines)."""
    from ingest.api import run_http_in_thread
    from ingest.smtp import SmtpConfigError, start_smtp
    from storage.masterdata import inbound_addresses
    from web.app import create_app  # intake and the workspace (task inbox, task pages)

    settings = runtime.settings
    try:
        smtp = start_smtp(runtime.db, runtime.store, settings, dispatcher)
    except SmtpConfigError as exc:
        raise SystemExit(f"error: {exc}") from None
    http_ready = threading.Event()
    app = create_app(runtime.db, runtime.store, settings, dispatcher)
    http = run_http_in_thread(app, settings, ready=http_ready)
    http_ready.wait(30)

    with runtime.db.session() as session:
        addresses = inbound_addresses(session)
    web = settings.public_url or f"http://{settings.http_host}:{settings.http_port}"
    lines = [f"  mail      smtp://{settings.smtp_host}:{smtp.port}  — send to:"]
    for address, client_id in sorted(addresses.items(), key=lambda kv: kv[1]):
        lines.append(f"              {address}  ({client_id})")
    lines.append(f"  upload    {web}/upload   (API {web}/docs)")
    return [smtp.stop, http.stop], lines


def serve_all() -> None:
    # No server named: our own local one, started now.
    local_server = not os.environ.get("PREFECT_API_URL")
    # The supervisor stops this process with SIGTERM (also when the supervisor dies): it
    # interrupts like Ctrl-C, so that a stop at any time, during start-up too, stops what
    # was started (below), the runs in flight finishing first.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    api_url = prefect_env.configure(use_recorded=False)
    if api_url is None:
        from domain.settings import get_settings

        api_url = start_prefect_server(get_settings().prefect_port)
        os.environ["PREFECT_API_URL"] = api_url
        prefect_env.recorded_api_url_file().write_text(api_url)
    prefect_env.skip_ca_bundle_for_plain_http(api_url)

    from flows.deployments import DEPLOYMENTS
    from flows.dispatch import dispatch_mode, make_dispatcher
    from flows.feeder import DocumentFeeder
    from flows.in_process import crash_orphans
    from flows.runtime import get_runtime
    from flows.warm_worker import WarmWorker

    runtime = get_runtime()
    settings = runtime.settings
    ocr_limit = prefect_env.ensure_ocr_limit(settings.ocr_processes).value
    # Before any run starts here: what a previous serve left running in its process.
    orphans = crash_orphans([spec.name for spec in DEPLOYMENTS])
    runs: WarmWorker | None = None
    feeder: DocumentFeeder | None = None
    intake: list[Callable[[], None]] = []
    try:
        runs = WarmWorker(list(DEPLOYMENTS), limit=3, pause_on_stop=True).start()
        if dispatch_mode(settings) is not DispatchMode.NONE:
            feeder = DocumentFeeder(settings.document_runs, settings.batch_poll_s).start()
        intake, lines = start_intake(runtime, make_dispatcher(settings, feeder))
        _banner(api_url, lines, local_server, ocr_limit, orphans, settings, feeder)
        threading.Event().wait()  # until SIGTERM (the supervisor's; Ctrl-C becomes one)
    except KeyboardInterrupt:
        pass
    finally:
        # Intake first, then the feeder's document runs and batch finish, then the
        # deployments' runs; then (atexit) Prefect's local server.
        for stop in [
            *intake,
            *([feeder.stop] if feeder is not None else []),
            *([runs.stop] if runs is not None else []),
        ]:
            stop()


def _banner(
    api_url: str,
    lines: list[str],
    local_server: bool,
    ocr_limit: int,
    orphans: int,
    settings: Settings,
    feeder: object | None,
) -> None:
    from flows.deployments import DEPLOYMENTS

    ui = api_url.removesuffix("/api")
    console.print("[bold green]fiduflow is running[/bold green]")
    for line in lines:
        console.print(line)
    console.print(f"  Prefect   {ui}")
    if local_server:
        console.print(f"            (the UI asks for the login in {prefect_env.auth_file()})")
    console.print(
        f"            {len(DEPLOYMENTS)} deployments: "
        + ", ".join(spec.name for spec in DEPLOYMENTS)
        + f"; OCR limited to {ocr_limit} at once (tag 'ocr')"
    )
    if orphans:
        console.print(
            f"            {orphans} run(s) the last serve left running marked Crashed "
            "(their documents are taken again through their leases)"
        )
    console.print(f"  data      {settings.data_dir.resolve()}")
    console.print(
        f"  dispatch  {settings.dispatch}"
        + (
            f" (a run per document, up to {settings.document_runs} at once; a batch when "
            "more are due)"
            if feeder
            else " (no feeder: the process-inbox sweep takes documents)"
        )
    )
