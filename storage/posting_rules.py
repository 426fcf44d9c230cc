"""A client's posting rules (master data `posting_rules`): read them, and replace the
whole list by hand (`fiduflow rules set`, `PUT /api/v1/clients/{id}/posting-rules`).

They live in the client's `banking` next to its reconciliation settings and bank
accounts, which a replacement of the rules leaves as they are.
"""

from sqlalchemy.orm import Session

from domain.reconciliation import Banking, PostingRule
from storage.tables import ClientRow


class UnknownClient(LookupError):
    """No client of that id; the message says so."""


def _client(session: Session, client_id: str) -> ClientRow:
    row = session.get(ClientRow, client_id)
    if row is None:
        raise UnknownClient(f"no client {client_id!r}; check the id")
    return row


def posting_rules(session: Session, client_id: str) -> list[PostingRule]:
    """The client's rules in the order they were given."""
    return Banking.model_validate(_client(session, client_id).banking or {}).posting_rules


def set_posting_rules(session: Session, client_id: str, rules: list[PostingRule]) -> None:
    """Replace the client's rules; its reconciliation settings and bank accounts stay.
    Raises ValueError when two rules share a name."""
    row = _client(session, client_id)
    banking = Banking.model_validate(row.banking or {})
    # Validated again as a whole: the names must be unique across the new list.
    replaced = Banking(
        reconciliation=banking.reconciliation,
        bank_accounts=banking.bank_accounts,
        posting_rules=rules,
    )
    # A new dict, not the old one changed in place: the JSON column sees the assignment.
    row.banking = replaced.model_dump(mode="json")
