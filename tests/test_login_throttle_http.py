"""Login and token throttling over a real loopback socket (uvicorn in a thread): whose
`X-Forwarded-For` is believed (FIDUFLOW_TRUSTED_PROXIES), and wrong bearer tokens
paused and logged without the token."""

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from domain.settings import Settings
from flows.artifacts import redact
from ingest.api import create_app, run_http_in_thread
from storage.db import Database
from storage.objects import FilesystemObjectStore
from tests.factories import firm_with_passwords, load

pytestmark = [pytest.mark.http, pytest.mark.timeout(120)]


@contextmanager
def _served(db: Database, store: FilesystemObjectStore, settings: Settings) -> Iterator[str]:
    settings = settings.model_copy(update={"http_port": 0})
    ready = threading.Event()
    handle = run_http_in_thread(create_app(db, store, settings, lambda _id: None), settings, ready)
    assert ready.wait(30), "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{handle.port}"
    finally:
        handle.stop()


@pytest.fixture
def firm(sqlite_db: Database) -> Database:
    load(sqlite_db, firm_with_passwords())
    return sqlite_db


def _login(http: httpx.Client, username: str, password: str, **headers: str) -> httpx.Response:
    page = http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/upload"},
        headers=headers,
    )


def test_a_rotating_forwarded_for_from_an_untrusted_peer_gets_no_more_guesses(
    firm: Database, fs_store: FilesystemObjectStore, settings: Settings
) -> None:
    assert settings.trusted_proxies == []  # the default: no proxy is believed
    with _served(firm, fs_store, settings) as base, httpx.Client(base_url=base) as http:
        for n in range(5):
            wrong = _login(http, "hans", "guess", **{"X-Forwarded-For": f"198.51.100.{n}"})
            assert wrong.status_code == 401
        paused = _login(http, "hans", "hans-pw-123456", **{"X-Forwarded-For": "198.51.100.77"})
        assert paused.status_code == 429
        assert 840 <= int(paused.headers["retry-after"]) <= 900


def test_a_trusted_proxys_forwarded_for_is_the_address_counted(
    firm: Database,
    fs_store: FilesystemObjectStore,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    caplog.set_level(logging.INFO, logger="fiduflow.web")
    with _served(firm, fs_store, settings) as base, httpx.Client(base_url=base) as http:
        guesser = {"X-Forwarded-For": "198.51.100.7"}
        for _ in range(5):
            assert _login(http, "hans", "guess", **guesser).status_code == 401
        assert _login(http, "hans", "hans-pw-123456", **guesser).status_code == 429
        # Hans himself, behind the same proxy from his own address, is not held up.
        mine = {"X-Forwarded-For": "203.0.113.20"}
        assert _login(http, "hans", "hans-pw-123456", **mine).status_code == 303
    assert "web login from 198.51.100.7 failed" in caplog.text


def test_wrong_bearer_tokens_are_paused_and_logged_without_the_token(
    firm: Database,
    fs_store: FilesystemObjectStore,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="fiduflow.api")
    guesses = [f"guessed-token-{n:02d}-Zq8" for n in range(20)]
    with _served(firm, fs_store, settings) as base, httpx.Client(base_url=base) as http:
        for guess in guesses:
            wrong = http.get("/api/v1/documents", headers={"Authorization": f"Bearer {guess}"})
            assert wrong.status_code == 401
        # Paused: even the right token now (a right guess would teach nothing).
        paused = http.get("/api/v1/documents", headers={"Authorization": "Bearer token-hans"})
        assert paused.status_code == 429
        assert 840 <= int(paused.headers["retry-after"]) <= 900
        assert "too many wrong API tokens" in paused.json()["detail"]
        # No token at all is not a guess: still the plain 401.
        assert http.get("/api/v1/documents").status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "fiduflow.api"]
    refused = [line for line in lines if line.startswith("API request from 127.0.0.1 refused")]
    assert len(refused) == 20  # one line for each wrong token
    assert all(f"({len(guesses[0])} chars)" in line for line in refused)
    # The fingerprint survives the log redaction that `serve` installs (its "token …"
    # rule), so an operator can tell one guesser's tokens from another's.
    assert all(re.search(r"fingerprint #[0-9a-f]{8} ", redact(line)) for line in refused)
    for guess in guesses:
        assert guess not in caplog.text
        assert guess[:8] not in caplog.text  # not even its beginning
