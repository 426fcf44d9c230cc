"""Where fiduflow's Prefect lives, decided before Prefect is imported.

Embedded default: Prefect's home is DATA_DIR/prefect, and `fiduflow serve` starts
Prefect's local server and records its address in DATA_DIR/prefect/api-url, so that
other `fiduflow` commands on the same machine report to the same server (their runs
show in the same UI). An explicit PREFECT_API_URL always wins.

Prefect's API starts any deployment with any parameters, so the local server listens on
loopback only and asks for a login (Prefect's basic auth,
PREFECT_SERVER_API_AUTH_STRING): a random one made at the first start and kept in
DATA_DIR/prefect/api-auth (readable by its owner only), which every `fiduflow` command
using the recorded server passes on as PREFECT_API_AUTH_STRING. The UI asks for it too.
"""

import os
import secrets
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

from domain.settings import get_settings


def prefect_home() -> Path:
    return (get_settings().data_dir / "prefect").resolve()


def recorded_api_url_file() -> Path:
    return prefect_home() / "api-url"


def auth_file() -> Path:
    return prefect_home() / "api-auth"


def server_pid_file() -> Path:
    """The pid of the local server `fiduflow serve` started (flows/supervisor.py stops one
    that an earlier serve left running)."""
    return prefect_home() / "server.pid"


# `fiduflow serve`'s own Prefect server: reachable from this machine only.
LOCAL_SERVER_HOST = "127.0.0.1"


def local_server_command(port: int) -> list[str]:
    """The command line of `fiduflow serve`'s own Prefect server."""
    return [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        LOCAL_SERVER_HOST,
        "--port",
        str(port),
    ]


def local_server_env(port: int, auth: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of `fiduflow serve`'s own Prefect server: SERVER_SETTINGS, its home,
    its address, and the login it asks every client for."""
    url = f"http://{LOCAL_SERVER_HOST}:{port}/api"
    env = server_env(base)
    env.update(
        PREFECT_HOME=str(prefect_home()),
        # The UI asks the API at PREFECT_UI_API_URL; its default assumes port 4200.
        PREFECT_UI_API_URL=url,
        PREFECT_SERVER_API_HOST=LOCAL_SERVER_HOST,
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_SERVER_API_AUTH_STRING=auth,
    )
    return env


def local_auth() -> str:
    """The login of the local server: PREFECT_API_AUTH_STRING when set, else the one kept
    in DATA_DIR/prefect/api-auth, made (random, owner-only file) when there is none."""
    explicit = os.environ.get("PREFECT_API_AUTH_STRING")
    if explicit:
        return explicit
    path = auth_file()
    try:
        kept = path.read_text().strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    value = f"fiduflow:{secrets.token_urlsafe(24)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _use_local_auth() -> None:
    """Log in to the recorded local server with the login it was started with."""
    if os.environ.get("PREFECT_API_AUTH_STRING"):
        return
    try:
        kept = auth_file().read_text().strip()
    except OSError:
        return
    if kept:
        os.environ["PREFECT_API_AUTH_STRING"] = kept


# What fiduflow asks of Prefect's server (its own local one, the benchmark's, the tests'; the
# README's production setup sets the same). Prefect's defaults record each task run's state
# change on its own: one transaction per event, the whole upsert built anew each time — in
# bench/pipeline.py (py-spy) the largest share of the server's CPU. Batched, a task run
# shows in the UI up to `FLUSH_INTERVAL` seconds later and costs a fraction of that.
SERVER_SETTINGS: dict[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no phoning home from a fiduciary's office
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
}


def server_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with SERVER_SETTINGS where it has none."""
    env = dict(os.environ if base is None else base)
    for name, value in SERVER_SETTINGS.items():
        env.setdefault(name, value)
    return env


def healthy(api_url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as r:  # noqa: S310
            return r.status == 200
    except OSError:
        return False


def configure(*, use_recorded: bool = True) -> str | None:
    """Set PREFECT_HOME (and PREFECT_API_URL when a local server runs); return the URL.

    `use_recorded=False` (`fiduflow serve`, which starts its own): only an explicit
    PREFECT_API_URL, never the server an earlier serve recorded."""
    os.environ.setdefault("PREFECT_HOME", str(prefect_home()))
    # An ephemeral server (`fiduflow process` without a running server) reads these too.
    os.environ.update(server_env())
    url = _api_url() if use_recorded else os.environ.get("PREFECT_API_URL") or None
    skip_ca_bundle_for_plain_http(url)
    return url


def _api_url() -> str | None:
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    recorded = recorded_api_url_file()
    if recorded.exists():
        url = recorded.read_text().strip()
        if url and healthy(url):
            os.environ["PREFECT_API_URL"] = url
            _use_local_auth()
            return url
    return None


def skip_ca_bundle_for_plain_http(api_url: str | None) -> None:
    """Spare every Prefect client the loading of certifi's CA bundle when the API is plain
    HTTP (Prefect's local or ephemeral server on loopback).

    Prefect 3.9 builds an `ssl.SSLContext` from `certifi.where()` for every client it makes
    — and a task run in a worker thread makes two: ~20 ms of CPU each on this machine, so
    ~40 ms per task run, five times what the task run costs otherwise (bench/pipeline.py,
    py-spy). Over `http://` no certificate is ever checked, so a one-certificate bundle
    (`PREFECT_API_SSL_CERT_FILE`, Prefect's own setting) changes nothing but the cost. An
    explicit setting, or an `https://` API, is left alone.
    """
    if os.environ.get("PREFECT_API_SSL_CERT_FILE"):
        return
    if api_url and not api_url.startswith("http://"):
        return
    import certifi

    bundle = certifi.where()
    target = prefect_home() / "loopback-ca.pem"
    try:
        if not target.exists():
            text = Path(bundle).read_text()
            end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
            first = text[text.index("-----BEGIN CERTIFICATE-----") : end]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(first + "\n")
    except (OSError, ValueError):
        return  # only slower
    os.environ["PREFECT_API_SSL_CERT_FILE"] = str(target)


OCR_TAG = "ocr"


def _client(api_url: str | None) -> Any:
    """A synchronous Prefect client: of `api_url`, or of the current settings (both with
    the login of PREFECT_API_AUTH_STRING, if any)."""
    from prefect.client.orchestration import SyncPrefectClient, get_client
    from prefect.settings import PREFECT_API_AUTH_STRING

    if api_url:
        return SyncPrefectClient(api_url, auth_string=PREFECT_API_AUTH_STRING.value())
    return get_client(sync_client=True)


_threads = threading.local()


def thread_client() -> Any:
    """This thread's synchronous Prefect client of the current API, opened once and kept.

    For the calls made again and again — a worker's poll for due runs, a run asking whether
    it was cancelled, a run's tags, a feeder's runs: opening a client costs ~19 ms of CPU
    (its HTTP client and the API version check), a call on an open one ~1 ms (measured on
    two cores against a local server). Per thread, because one is not shared between
    threads; per API URL, because tests start more than one server.
    """
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    held = getattr(_threads, "client", None)
    if held is None or held[0] != url:
        client = get_client(sync_client=True)
        client.__enter__()
        _threads.client = held = (url, client)
    return held[1]


class OcrLimit(NamedTuple):
    """The `ocr` tag concurrency limit in force, and whether this call created it."""

    value: int
    created: bool


def ensure_ocr_limit(limit: int | None = None, api_url: str | None = None) -> OcrLimit:
    """The tag concurrency limit on `ocr`: created with `limit` (default: one per core)
    when the server has none; one already set is left as it is and returned.

    Task runs tagged `ocr` (the read step, when a file needs OCR) wait for a free slot,
    across every process and machine that reports to this Prefect server. An operator's
    `prefect concurrency-limit create ocr N` always wins: every `fiduflow worker` and
    `fiduflow serve` calls this at start, and with an update the last one to start would
    overwrite N with its own machine's `ocr_processes`. `serve` on its private server
    thus sets the limit at the first start only; to change it later, set it with Prefect.
    """
    from prefect.exceptions import ObjectNotFound

    with _client(api_url) as client:
        try:
            existing = client.read_concurrency_limit_by_tag(OCR_TAG)
        except ObjectNotFound:
            pass
        else:
            return OcrLimit(existing.concurrency_limit, created=False)
        value = limit or os.cpu_count() or 1
        # Prefect has no create-if-absent for tag limits (create is an upsert): two
        # processes starting at the same instant on an empty server may both write theirs;
        # one of the two values stands, and no later start changes it.
        client.create_concurrency_limit(tag=OCR_TAG, concurrency_limit=value)
    return OcrLimit(value, created=True)
