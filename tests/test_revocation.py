"""Sessions and accounts can be revoked, over real HTTP (uvicorn on loopback):

- a session cookie stops working after /logout, after a password change and after a
  token change (a reload of the master data);
- a user no longer listed in the master data is disabled: token, password and session
  stop at once; listed again, they come back — unless a person disabled them;
- `fiduflow users disable NAME` does the same by hand.
"""

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from domain.settings import Settings
from flows.cli import app as cli
from ingest.api import create_app, run_http_in_thread
from storage.db import Database
from storage.objects import FilesystemObjectStore
from tests.factories import firm_with_passwords, load

pytestmark = [pytest.mark.http]


@dataclass
class Site:
    base: str
    db: Database

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30)


@pytest.fixture
def site(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Site]:
    load(db, firm_with_passwords())
    settings = settings.model_copy(update={"http_port": 0})
    ready = threading.Event()
    handle = run_http_in_thread(create_app(db, fs_store, settings, None), settings, ready)
    assert ready.wait(30)
    try:
        yield Site(f"http://127.0.0.1:{handle.port}", db)
    finally:
        handle.stop()


def _password(username: str) -> str:
    data = firm_with_passwords()
    users = [u for c in data["clients"] for u in c["users"]] + data["staff"]
    return next(u["password"] for u in users if u["username"] == username)


def _login(http: httpx.Client, username: str, password: str | None = None) -> str:
    """Log in; returns the session cookie's value (raises if the login failed)."""
    page = http.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = http.post(
        "/login",
        data={
            "username": username,
            "password": password or _password(username),
            "csrf_token": csrf,
            "next": "/upload",
        },
    )
    assert answer.status_code == 303, answer.text
    return http.cookies["fiduflow_session"]


def _with_cookie(site: Site, cookie: str) -> int:
    """What the upload page answers a request that carries only this cookie."""
    with httpx.Client(base_url=site.base, timeout=30) as http:
        http.cookies.set("fiduflow_session", cookie)
        return http.get("/upload/documents").status_code


def _firm(**changes: Any) -> dict[str, Any]:
    data = firm_with_passwords()
    hans = data["clients"][0]["users"][0]
    assert hans["username"] == "hans"
    hans.update(changes)
    return data


def test_a_cookie_dies_with_logout(site: Site):
    with site.client() as http:
        cookie = _login(http, "hans")
        assert _with_cookie(site, cookie) == 200
        page = http.get("/upload")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert http.post("/logout", data={"csrf_token": csrf}).status_code == 303
    # The stolen or kept copy of the cookie is worth nothing now.
    assert _with_cookie(site, cookie) == 401


def test_a_cookie_dies_with_a_password_change_and_a_token_change(site: Site):
    with site.client() as http:
        cookie = _login(http, "hans")
    load(site.db, _firm(password="a-brand-new-password-1"))
    assert _with_cookie(site, cookie) == 401
    with site.client() as http:
        cookie = _login(http, "hans", "a-brand-new-password-1")
    assert _with_cookie(site, cookie) == 200
    # Loading the same file again changes nothing: the session lives on.
    load(site.db, _firm(password="a-brand-new-password-1"))
    assert _with_cookie(site, cookie) == 200

    load(site.db, _firm(password="a-brand-new-password-1", token="token-hans-2"))
    assert _with_cookie(site, cookie) == 401
    with site.client() as http:
        old = http.get("/api/v1/documents", headers={"Authorization": "Bearer token-hans"})
        new = http.get("/api/v1/documents", headers={"Authorization": "Bearer token-hans-2"})
    assert (old.status_code, new.status_code) == (401, 200)


def test_a_user_no_longer_listed_loses_token_password_and_session(site: Site):
    with site.client() as http:
        cookie = _login(http, "hans")
    data = firm_with_passwords()
    data["clients"][0]["users"] = [
        u for u in data["clients"][0]["users"] if u["username"] != "hans"
    ]
    load(site.db, data)

    assert _with_cookie(site, cookie) == 401
    with site.client() as http:
        api = http.get("/api/v1/documents", headers={"Authorization": "Bearer token-hans"})
        assert api.status_code == 401
        page = http.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        refused = http.post(
            "/login",
            data={"username": "hans", "password": _password("hans"), "csrf_token": csrf},
        )
        assert refused.status_code == 401
        # Listed again: back, with the same token (the loader's own disable is undone).
        load(site.db, firm_with_passwords())
        again = http.get("/api/v1/documents", headers={"Authorization": "Bearer token-hans"})
        assert again.status_code == 200


def test_fiduflow_users_disable_stops_a_user_at_once_and_a_reload_does_not_undo_it(
    site: Site, runtime
):
    with site.client() as http:
        cookie = _login(http, "anna")  # staff, too, can be disabled

    result = CliRunner().invoke(cli, ["users", "disable", "anna"])
    assert result.exit_code == 0, result.output
    assert "anna: disabled" in result.output

    assert _with_cookie(site, cookie) == 401
    with site.client() as http:
        staff = {"Authorization": "Bearer staff-token-anna"}
        assert http.get("/api/v1/documents", headers=staff).status_code == 401
        load(site.db, firm_with_passwords())  # still listed, but a person disabled her
        assert http.get("/api/v1/documents", headers=staff).status_code == 401

        listing = CliRunner().invoke(cli, ["users", "list"])
        assert re.search(r"anna .*staff.*by ", listing.output), listing.output

        assert CliRunner().invoke(cli, ["users", "enable", "anna"]).exit_code == 0
        assert http.get("/api/v1/documents", headers=staff).status_code == 200
    assert _with_cookie(site, cookie) == 401  # old sessions stay ended

    unknown = CliRunner().invoke(cli, ["users", "disable", "nobody"])
    assert unknown.exit_code == 1
    assert "no user named 'nobody'" in unknown.output
