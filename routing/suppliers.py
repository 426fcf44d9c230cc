"""Which supplier a document is from: IBAN, then UID, then name (first version).

The directory is handed in (a Protocol), so this module needs no database.
"""

from typing import Protocol

from rapidfuzz import fuzz

from domain.enums import MatchRule
from domain.extraction import Extraction
from domain.identifiers import name_tokens, normalize_company_name
from domain.records import Supplier, SupplierMatch

NAME_ACCEPT = 90.0  # fuzzy name score (0..100) at or above which we trust a name match


class SupplierDirectory(Protocol):
    def by_iban(self, iban: str) -> list[Supplier]: ...
    def by_uid(self, uid: str) -> list[Supplier]: ...
    def by_name_tokens(self, tokens: list[str], limit: int = 50) -> list[Supplier]: ...
    def client_supplier_ids(self) -> set[str]: ...


def _prefer_own(found: list[Supplier], own: set[str]) -> Supplier | None:
    mine = [s for s in found if s.id in own]
    if len(mine) == 1:
        return mine[0]
    return found[0] if len(found) == 1 else None


def match_supplier(extraction: Extraction, directory: SupplierDirectory) -> SupplierMatch:
    own = directory.client_supplier_ids()
    if extraction.supplier_iban:
        found = _prefer_own(directory.by_iban(extraction.supplier_iban), own)
        if found:
            return SupplierMatch(
                supplier_id=found.id,
                rule=MatchRule.IBAN,
                score=100.0,
                detail="IBAN on the document is the supplier's",
            )
    if extraction.supplier_uid:
        found = _prefer_own(directory.by_uid(extraction.supplier_uid), own)
        if found:
            return SupplierMatch(
                supplier_id=found.id,
                rule=MatchRule.UID,
                score=100.0,
                detail="UID on the document is the supplier's",
            )
    if extraction.supplier_name:
        wanted = normalize_company_name(extraction.supplier_name)
        candidates = directory.by_name_tokens(name_tokens(extraction.supplier_name))
        scored = sorted(
            (
                (fuzz.token_sort_ratio(wanted, normalize_company_name(c.name)), c)
                for c in candidates
            ),
            key=lambda pair: (-pair[0], pair[1].id not in own),
        )
        if scored and scored[0][0] >= NAME_ACCEPT:
            score, best = scored[0]
            rule = MatchRule.NAME if best.id in own else MatchRule.NAME_DIRECTORY
            return SupplierMatch(
                supplier_id=best.id,
                rule=rule,
                score=round(score, 1),
                detail=f"name {extraction.supplier_name!r} ~ {best.name!r}",
            )
    return SupplierMatch(rule=MatchRule.NONE, score=0.0, detail="no supplier matched")
