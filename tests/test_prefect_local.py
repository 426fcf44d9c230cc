"""`fiduflow serve`'s own Prefect server is not open to anyone (flows/prefect_env.py): it
listens on loopback only and asks every client for a login, which `fiduflow` processes
send. Prefect's API starts any deployment with any parameters."""

import os
import socket
import stat
import subprocess
import sys
import time

import httpx
import pytest

from flows import prefect_env
from tests.conftest import free_port


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setattr(prefect_env, "prefect_home", lambda: tmp_path / "prefect")
    monkeypatch.delenv("PREFECT_API_AUTH_STRING", raising=False)
    return tmp_path / "prefect"


def _seen_by_prefect(env: dict[str, str]) -> list[str]:
    """The server's host and login as a fresh Prefect process reads its settings."""
    code = (
        "from prefect.settings import get_current_settings as s; a = s().server.api; "
        "print(a.host, a.auth_string.get_secret_value() if a.auth_string else None)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()


def test_the_local_server_listens_on_loopback_and_asks_for_a_login(home):
    command = prefect_env.local_server_command(4321)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert "0.0.0.0" not in command  # noqa: S104 - what must not be there
    auth = prefect_env.local_auth()
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env = prefect_env.local_server_env(4321, auth, base)
    assert env["PREFECT_UI_API_URL"] == "http://127.0.0.1:4321/api"
    assert _seen_by_prefect(env) == ["127.0.0.1", auth]


def test_the_login_is_random_kept_for_its_owner_only_and_passed_on(home, monkeypatch):
    first = prefect_env.local_auth()
    assert first.startswith("fiduflow:") and len(first) > 30
    assert prefect_env.local_auth() == first  # kept: a running server keeps its login
    path = prefect_env.auth_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Another `fiduflow` command that finds the recorded server logs in with it.
    monkeypatch.setattr(prefect_env, "healthy", lambda url, timeout=1.0: True)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    prefect_env.recorded_api_url_file().write_text("http://127.0.0.1:4321/api")
    assert prefect_env._api_url() == "http://127.0.0.1:4321/api"
    assert os.environ["PREFECT_API_AUTH_STRING"] == first
    monkeypatch.delenv("PREFECT_API_URL")
    # An explicit login wins.
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", "ops:chosen")
    assert prefect_env.local_auth() == "ops:chosen"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_real_local_server_refuses_other_addresses_and_clients_without_the_login(home):
    from prefect.client.orchestration import SyncPrefectClient

    port = free_port()
    auth = prefect_env.local_auth()
    home.mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env = prefect_env.local_server_env(port, auth, base)
    env["PREFECT_SERVER_LOGGING_LEVEL"] = "WARNING"
    with open(home / "server.log", "ab") as log:
        server = subprocess.Popen(
            prefect_env.local_server_command(port), env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while not prefect_env.healthy(url):  # /health answers without a login
            assert server.poll() is None, (home / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Prefect's server did not start"
            time.sleep(0.5)
        # Bound to 127.0.0.1, not to every address: another address of this host is refused.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", port), timeout=2).close()
        # Without the login: 401; a wrong one: 401.
        filter_deployments = f"{url}/deployments/filter"
        assert httpx.post(filter_deployments, json={}).status_code == 401
        wrong = httpx.post(filter_deployments, json={}, auth=("fiduflow", "guess"))
        assert wrong.status_code == 401
        # With it (Prefect's client, as every fiduflow process sends it): served.
        with SyncPrefectClient(url, auth_string=auth) as client:
            assert client.read_deployments() == []
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
