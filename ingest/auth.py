"""Who is calling: bearer tokens for the API, signed session cookies for the web pages.

- API: `Authorization: Bearer TOKEN` of a client user or of fiduciary staff. Tokens are
  looked up by their hash (storage/secrets.py); nothing here logs them. A wrong token
  counts against the caller's address (ingest/login_throttle.py) and is logged by a
  fingerprint only (`token_hint`).
- Web pages: after `/login`, a session cookie signed with itsdangerous (key from
  `FIDUFLOW_SESSION_SECRET`, else a random key kept in `DATA_DIR/session.key`), `HttpOnly;
  SameSite=Strict`, valid for 8 hours. It names the user and their `auth_epoch` (re-read
  from the database on every request: a disabled user, a logout, a new password or token
  end it at once) and carries the CSRF token that
  every form and every state-changing fetch must echo. Before login, the CSRF token for
  the login form lives in a short-lived cookie of its own (login CSRF).
"""

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

from domain.records import User
from domain.settings import Settings
from storage.accounts import end_sessions
from storage.db import Database
from storage.masterdata import user_by_username, user_for_token

SESSION_COOKIE = "fiduflow_session"
LOGIN_CSRF_COOKIE = "fiduflow_login_csrf"
SESSION_MAX_AGE_S = 8 * 3600
LOGIN_CSRF_MAX_AGE_S = 3600
CSRF_HEADER = "x-csrf-token"


def session_key(settings: Settings) -> bytes:
    """The signing key: the configured secret, else one random key per data folder.

    Kept in a file (mode 0600) so that sessions survive a restart, and created with
    O_EXCL so that two processes starting at once agree on one key.
    """
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    path = Path(settings.data_dir) / "session.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) >= 32:
            return key
        raise RuntimeError(f"{path} is empty or too short; delete it to make a new key") from None
    key = secrets.token_hex(32).encode()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


@dataclass(frozen=True)
class WebSession:
    username: str
    user_id: int
    staff: bool
    csrf: str
    epoch: int  # the user's auth_epoch when it was issued (storage/accounts.py)


class SessionCodec:
    """Signs and reads the session and login-CSRF cookies."""

    def __init__(self, key: bytes):
        self._session = URLSafeTimedSerializer(key, salt="fiduflow.session")
        self._login = URLSafeTimedSerializer(key, salt="fiduflow.login-csrf")

    def issue(self, user: User) -> tuple[str, WebSession]:
        session = WebSession(
            username=user.username,
            user_id=user.id,
            staff=user.is_staff,
            csrf=new_csrf_token(),
            epoch=user.auth_epoch,
        )
        value = self._session.dumps(
            {
                "u": session.username,
                "i": session.user_id,
                "s": session.staff,
                "c": session.csrf,
                "e": session.epoch,
            }
        )
        return value, session

    def read(self, cookie: str | None) -> WebSession | None:
        if not cookie:
            return None
        try:
            data: Any = self._session.loads(cookie, max_age=SESSION_MAX_AGE_S)
            return WebSession(
                username=str(data["u"]),
                user_id=int(data["i"]),
                staff=bool(data["s"]),
                csrf=str(data["c"]),
                epoch=int(data["e"]),  # a cookie from before epochs has none: log in again
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def login_csrf(self, token: str) -> str:
        return self._login.dumps(token)

    def read_login_csrf(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return str(self._login.loads(cookie, max_age=LOGIN_CSRF_MAX_AGE_S))
        except (BadSignature, TypeError, ValueError):
            return None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


def client_address(request: Request) -> str:
    """The caller's address: the TCP peer's, or the one a trusted proxy passed on.

    uvicorn rewrites the peer from `X-Forwarded-For` only for the addresses in
    `FIDUFLOW_TRUSTED_PROXIES` (ingest/api.py `run_http_in_thread`).
    """
    return request.client.host if request.client else "?"


def token_hint(token: str) -> str:
    """What a log line may say about a (wrong) token: its length and a short fingerprint.

    Never the token or a prefix of it (a mistyped token is mostly the real one), and not
    its stored SHA-256 either: the fingerprint is a hash under a label of its own.
    """
    digest = hashlib.sha256(b"fiduflow log fingerprint\0" + token.encode()).hexdigest()
    return f"#{digest[:8]} ({len(token)} chars)"


def user_from_token(db: Database, token: str) -> User | None:
    with db.session() as session:
        return user_for_token(session, token)


def user_from_session(db: Database, web: WebSession) -> User | None:
    """The session's user as the database knows them now. None: the user was removed,
    replaced or disabled, logged out, or changed password or token since (a new epoch)."""
    with db.session() as session:
        user = user_by_username(session, web.username)
    if user is None or user.id != web.user_id or user.is_staff != web.staff:
        return None
    if user.auth_epoch != web.epoch:
        return None
    return user


def end_web_sessions(db: Database, username: str) -> None:
    """Logout: every session of this user ends, on every device (the cookie alone is no
    proof of anything once the user has logged out)."""
    with db.session() as session:
        end_sessions(session, username)
