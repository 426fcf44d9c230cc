"""The supplier directory as routing sees it: lookups by IBAN, UID and name words.

Every lookup is an indexed query, so matching costs the same with 100 suppliers as with
100,000. A supplier *proposed* from one client's document is visible to that client only,
until a fiduciary confirms it.
"""

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain.records import Supplier
from storage.masterdata import supplier_from_row
from storage.tables import ClientSupplier, SupplierIban, SupplierNameToken, SupplierRow


class SqlSupplierDirectory:
    def __init__(self, session: Session, client_id: str):
        self.session = session
        self.client_id = client_id
        self._own: set[str] | None = None

    def _visible(self, statement):  # type: ignore[no-untyped-def]
        return statement.where(
            or_(
                SupplierRow.status == "active",
                SupplierRow.proposed_by_client_id == self.client_id,
            )
        )

    def _load(self, ids: list[str]) -> list[Supplier]:
        if not ids:
            return []
        rows = self.session.scalars(
            self._visible(select(SupplierRow).where(SupplierRow.id.in_(ids)))
        )
        ibans: dict[str, list[str]] = {}
        for link in self.session.scalars(
            select(SupplierIban).where(SupplierIban.supplier_id.in_(ids))
        ):
            ibans.setdefault(link.supplier_id, []).append(link.iban)
        by_id = {r.id: supplier_from_row(r, ibans.get(r.id, [])) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def by_iban(self, iban: str) -> list[Supplier]:
        ids = list(
            self.session.scalars(select(SupplierIban.supplier_id).where(SupplierIban.iban == iban))
        )
        return self._load(ids)

    def by_uid(self, uid: str) -> list[Supplier]:
        ids = list(self.session.scalars(select(SupplierRow.id).where(SupplierRow.uid == uid)))
        return self._load(ids)

    def by_name_tokens(self, tokens: list[str], limit: int = 50) -> list[Supplier]:
        """Suppliers sharing the most name words with `tokens`, best first."""
        if not tokens:
            return []
        shared = func.count(SupplierNameToken.token).label("shared")
        statement = (
            select(SupplierNameToken.supplier_id, shared)
            .where(SupplierNameToken.token.in_(tokens))
            .group_by(SupplierNameToken.supplier_id)
            .order_by(shared.desc(), SupplierNameToken.supplier_id)
            .limit(limit)
        )
        return self._load([row.supplier_id for row in self.session.execute(statement)])

    def client_supplier_ids(self) -> set[str]:
        if self._own is None:
            self._own = set(
                self.session.scalars(
                    select(ClientSupplier.supplier_id).where(
                        ClientSupplier.client_id == self.client_id
                    )
                )
            )
        return self._own

    def get(self, supplier_id: str) -> Supplier | None:
        found = self._load([supplier_id])
        return found[0] if found else None
