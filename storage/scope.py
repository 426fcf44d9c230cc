"""Whose data a query may see. Every repository read for a user goes through a Scope."""

from dataclasses import dataclass
from typing import Any

from domain.records import User


@dataclass(frozen=True)
class Scope:
    """`client_id=None` means staff of the fiduciary: every client."""

    client_id: str | None

    @classmethod
    def of(cls, user: User) -> "Scope":
        return cls(client_id=user.client_id)

    @classmethod
    def staff(cls) -> "Scope":
        return cls(client_id=None)

    @classmethod
    def client(cls, client_id: str) -> "Scope":
        if not client_id:
            raise ValueError("a client scope needs a client id")
        return cls(client_id=client_id)

    def narrowed(self, client_id: str | None) -> "Scope":
        """Staff may narrow to one client (`?client=ID`); a client user cannot widen."""
        if client_id is None:
            return self
        if self.client_id is None:
            return Scope(client_id=client_id)
        return self  # a client user's own scope, whatever they ask for

    def apply(self, statement: Any, column: Any) -> Any:
        return statement if self.client_id is None else statement.where(column == self.client_id)

    def allows(self, client_id: str) -> bool:
        return self.client_id is None or self.client_id == client_id
