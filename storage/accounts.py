"""Accounts that can be revoked: ending sessions, disabling and enabling users.

A web session carries its user's `auth_epoch` (ingest/auth.py); raising the epoch ends
every session of that user at once. It is raised on logout, when a password or token
changes (master data) and when the user is disabled. A disabled user is no user:
neither token nor password nor session works (storage/masterdata.py looks users up
enabled only). Nothing is deleted: who did what stays readable in the history. Why:
docs/decisions/0003-sessions-carry-an-epoch.md.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.tables import ClientRow, StaffUser, UserRow, utcnow

LOADER = "setup load"  # disabled_by for users the master data no longer lists


class UnknownUser(LookupError):
    """No user of that name; the message says so."""


@dataclass(frozen=True)
class Account:
    username: str
    client_id: str | None  # None: staff
    access: str  # "staff", "company" or "employee"
    disabled_at: datetime | None
    disabled_by: str | None


def _row(session: Session, username: str) -> StaffUser | UserRow:
    row: StaffUser | UserRow | None = session.scalar(
        select(StaffUser).where(StaffUser.username == username)
    )
    row = row or session.scalar(select(UserRow).where(UserRow.username == username))
    if row is None:
        raise UnknownUser(f"no user named {username!r}; `fiduflow users list` shows them all")
    return row


def end_sessions(session: Session, username: str) -> None:
    """Every web session of the user dies (logout, new secret, disabled)."""
    row = _row(session, username)
    row.auth_epoch = (row.auth_epoch or 0) + 1


def disable_user(session: Session, username: str, by: str) -> bool:
    """Token, password and sessions stop working; False when already disabled."""
    row = _row(session, username)
    if row.disabled_at is not None:
        return False
    row.disabled_at = utcnow()
    row.disabled_by = by
    end_sessions(session, username)
    return True


def enable_user(session: Session, username: str) -> bool:
    """Undo a disable; False when the user was not disabled."""
    row = _row(session, username)
    if row.disabled_at is None:
        return False
    row.disabled_at = None
    row.disabled_by = None
    return True


def list_accounts(session: Session) -> list[Account]:
    staff = [
        Account(r.username, None, "staff", r.disabled_at, r.disabled_by)
        for r in session.scalars(select(StaffUser).order_by(StaffUser.username))
    ]
    users = [
        Account(r.username, r.client_id, r.access, r.disabled_at, r.disabled_by)
        for r in session.scalars(
            select(UserRow).join(ClientRow).order_by(UserRow.client_id, UserRow.username)
        )
    ]
    return staff + users
