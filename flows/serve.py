"""`fiduflow serve`: everything of the embedded default in one process.

1. Prefect: use PREFECT_API_URL if set, else start Prefect's local server (SQLite, under
   DATA_DIR/prefect) and record its address for the other `fiduflow` commands.
2. The database schema is migrated, the object store opened.
3. SMTP and HTTP intake run in threads; intake asks for processing through the
   `process-document` deployment.
4. Prefect's runner serves the deployments (the process-document runs, and the schedules).
"""

import atexit
import os
import subprocess
import sys
import threading
import time

from rich.console import Console

from flows import prefect_env

console = Console(stderr=True)

PREFECT_PORT = int(os.environ.get("FIDUFLOW_PREFECT_PORT", "4200"))


def start_prefect_server(port: int = PREFECT_PORT) -> str:
    url = f"http://127.0.0.1:{port}/api"
    if prefect_env.healthy(url):
        return url
    home = prefect_env.prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "server.log", "ab")  # noqa: SIM115 - lives as long as the server
    console.print(f"starting Prefect's local server on 127.0.0.1:{port} (log: {log.name}) …")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PREFECT_HOME": str(home)},
    )
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


def serve_all() -> None:
    api_url = prefect_env.configure()
    if api_url is None:
        api_url = start_prefect_server()
        os.environ["PREFECT_API_URL"] = api_url
        prefect_env.recorded_api_url_file().write_text(api_url)
    # Runs start within ~3 s instead of ~10 s (DESIGN.md, measured).
    os.environ.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "1")

    from ingest.api import create_app, run_http_in_thread
    from ingest.smtp import start_smtp
    from prefect import serve

    from flows.deployments import all_deployments
    from flows.dispatch import make_dispatcher
    from flows.runtime import get_runtime
    from storage.masterdata import inbound_addresses

    runtime = get_runtime()
    settings = runtime.settings
    dispatcher = make_dispatcher(settings, server_reachable=True)
    smtp = start_smtp(runtime.db, runtime.store, settings, dispatcher)
    http_ready = threading.Event()
    app = create_app(runtime.db, runtime.store, settings, dispatcher)
    run_http_in_thread(app, settings, ready=http_ready)
    http_ready.wait(30)

    with runtime.db.session() as session:
        addresses = inbound_addresses(session)
    ui = api_url.removesuffix("/api")
    web = settings.public_url or f"http://{settings.http_host}:{settings.http_port}"
    console.print("[bold green]fiduflow is running[/bold green]")
    console.print(f"  mail      smtp://{settings.smtp_host}:{settings.smtp_port}  — send to:")
    for address, client_id in sorted(addresses.items(), key=lambda kv: kv[1]):
        console.print(f"              {address}  ({client_id})")
    console.print(f"  upload    {web}/upload   (API {web}/docs)")
    console.print(f"  Prefect   {ui}")
    console.print(f"  data      {settings.data_dir.resolve()}")
    try:
        serve(*all_deployments(), print_starting_message=False)
    finally:
        smtp.stop()
