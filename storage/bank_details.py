"""A supplier's bank account, confirmed by a person (the `bank_details` task).

The only way an IBAN read from a document becomes a supplier's known account: routing
never adds one by itself (`routing.bank_details`), and only staff complete the task.
"""

from sqlalchemy.orm import Session

from domain.identifiers import normalize_iban
from storage.tables import SupplierIban, SupplierRow


def confirm_supplier_iban(session: Session, supplier_id: str, iban: str, by: str) -> bool:
    """Make `iban` one of the supplier's accounts, confirmed by `by` (kept across master
    data reloads); False when the supplier is gone."""
    if session.get(SupplierRow, supplier_id) is None:
        return False
    compact = normalize_iban(iban)
    row = session.get(SupplierIban, (compact, supplier_id))
    if row is None:
        session.add(SupplierIban(iban=compact, supplier_id=supplier_id, confirmed_by=by))
    else:
        row.confirmed_by = by
    session.flush()
    return True
