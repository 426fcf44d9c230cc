"""Which supplier a document is from: IBAN / QR-IBAN, then UID, then the name.

The directory is handed in (a Protocol; `storage.suppliers.SqlSupplierDirectory` answers
it with indexed queries), so this module needs no database. Identifiers are exact; a name
is compared with rapidfuzz after normalising legal forms, punctuation and case, over the
client's own suppliers first and then the firm's whole directory. Precision comes first:
a name that could be two suppliers is *not guessed* — the match says why, and a human
decides. A confident reading of a supplier we do not know becomes a *proposal* (a new
supplier record a fiduciary confirms), never a silent new master-data entry.

A printed name that a person's correction tied to a supplier (a learned alias, carried
on `Supplier.aliases`) is that supplier: exactly one candidate with the alias wins, and
the match says the alias was learned from a correction.
"""

from typing import Protocol

from pydantic import BaseModel
from stdnum import iban as stdnum_iban
from stdnum.ch import uid as stdnum_uid

from domain.enums import MatchRule, SupplierStatus, TextSource
from domain.extraction import Extraction
from domain.identifiers import format_iban, normalize_company_name, normalize_iban, normalize_uid
from domain.records import Supplier, SupplierMatch
from routing.names import LOOSE_CAP, name_key, name_score

ACCEPT = 88.0  # a name match at or above this, with a clear margin, is the supplier
MARGIN = 4.0  # the runner-up must be this far behind, or the name is ambiguous
NEW_BELOW = 75.0  # nothing in the directory scores this high: the supplier is new
CONFIDENT_READING = 0.8  # reader confidence needed to propose a new supplier from a field


class SupplierDirectory(Protocol):
    """The suppliers one client may see: the firm's active ones and its own proposals."""

    def by_iban(self, iban: str) -> list[Supplier]: ...
    def by_uid(self, uid: str) -> list[Supplier]: ...
    def by_name(self, name: str, limit: int = 25) -> list[Supplier]: ...
    def client_supplier_ids(self) -> set[str]: ...


class SupplierResult(BaseModel):
    match: SupplierMatch
    supplier: Supplier | None = None  # the matched record (None when new or unsure)
    proposal: Supplier | None = None  # a new record to create, status "proposed"


def is_qr_iban(iban: str) -> bool:
    """QR-IBAN: CH/LI with an institution id (chars 5-9) of 30000-31999 (SIX IG)."""
    compact = normalize_iban(iban)
    return (
        compact[:2] in ("CH", "LI")
        and compact[4:9].isdigit()
        and 30000 <= int(compact[4:9]) <= 31999
    )


def clean_uid(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalize_uid(value)
    except ValueError:
        return None


def valid_uid(uid: str | None) -> bool:
    return uid is not None and bool(stdnum_uid.is_valid(uid.replace("-", "").replace(".", "")))


def valid_iban(iban: str | None) -> bool:
    return iban is not None and bool(stdnum_iban.is_valid(iban))


def _contradicts_uid(supplier: Supplier, uid: str | None) -> bool:
    """A different UID on record means a different legal entity, whatever the name says."""
    return bool(uid and supplier.uid and supplier.uid != uid)


def _ranked(extraction: Extraction, candidates: list[Supplier]) -> list[tuple[float, Supplier]]:
    query = name_key(extraction.supplier_name or "")
    iban = normalize_iban(extraction.supplier_iban) if extraction.supplier_iban else None
    scored = []
    for c in candidates:
        key = name_key(c.name)
        score = name_score(query, key, extraction.supplier_address, c.address)
        # The document's IBAN is not this supplier's (else the IBAN rule had matched it):
        # another bank account and a name that is only *like* it — not enough.
        if iban and c.ibans and iban not in c.ibans and key.normalized != query.normalized:
            score = min(score, LOOSE_CAP)
        scored.append((round(score, 1), c))
    return sorted(scored, key=lambda pair: (-pair[0], pair[1].id))


def _clear_winner(scored: list[tuple[float, Supplier]]) -> tuple[float, Supplier] | None:
    if not scored or scored[0][0] < ACCEPT:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < MARGIN:
        return None
    return scored[0]


def _among(
    found: list[Supplier], own: set[str], extraction: Extraction
) -> tuple[Supplier | None, str]:
    """One supplier out of those sharing an identifier: the client's own, else by name."""
    if len(found) == 1:
        return found[0], ""
    mine = [s for s in found if s.id in own]
    if len(mine) == 1:
        return mine[0], " (the client's own of several sharing it)"
    pool = mine or found
    winner = _clear_winner(_ranked(extraction, pool)) if extraction.supplier_name else None
    if winner:
        return winner[1], f" (shared by {len(pool)} suppliers; the name decided)"
    return None, ""


def match_supplier(
    extraction: Extraction,
    directory: SupplierDirectory,
    *,
    proposal_id: str | None = None,
) -> SupplierResult:
    """The supplier of a document, the rule and score that found it, or a proposal."""
    own = directory.client_supplier_ids()
    uid = clean_uid(extraction.supplier_uid)
    exact_source = extraction.text_source is TextSource.XML
    notes: list[str] = []
    identifier_known = False  # an IBAN/UID on record, but no single supplier: not new

    if extraction.supplier_iban:
        iban = normalize_iban(extraction.supplier_iban)
        found = [s for s in directory.by_iban(iban) if not _contradicts_uid(s, uid)]
        chosen, how = _among(found, own, extraction)
        if chosen:
            qr = is_qr_iban(iban)
            rule = MatchRule.XML if exact_source else (MatchRule.QR_IBAN if qr else MatchRule.IBAN)
            kind = "QR-IBAN" if qr else "IBAN"
            return SupplierResult(
                match=SupplierMatch(
                    supplier_id=chosen.id,
                    rule=rule,
                    score=100.0,
                    detail=f"{kind} {format_iban(iban)} is {chosen.name}'s{how}",
                ),
                supplier=chosen,
            )
        if found:
            identifier_known = True
            notes.append(f"IBAN {format_iban(iban)} belongs to {len(found)} suppliers")

    if uid:
        found = directory.by_uid(uid)
        chosen, how = _among(found, own, extraction)
        if chosen:
            return SupplierResult(
                match=SupplierMatch(
                    supplier_id=chosen.id,
                    rule=MatchRule.XML if exact_source else MatchRule.UID,
                    score=100.0,
                    detail=f"UID {uid} is {chosen.name}'s{how}",
                ),
                supplier=chosen,
            )
        if found:
            identifier_known = True
            notes.append(f"UID {uid} belongs to {len(found)} suppliers")

    best_score = 0.0
    if extraction.supplier_name:
        candidates = [
            c for c in directory.by_name(extraction.supplier_name) if not _contradicts_uid(c, uid)
        ]
        aliased = _by_alias(extraction.supplier_name, candidates)
        if aliased is not None:
            rule = MatchRule.NAME if aliased.id in own else MatchRule.NAME_DIRECTORY
            return SupplierResult(
                match=SupplierMatch(
                    supplier_id=aliased.id,
                    rule=rule,
                    score=100.0,
                    detail=f"name {extraction.supplier_name!r} is an alias of {aliased.name} "
                    "learned from a correction",
                ),
                supplier=aliased,
            )
        scored = _ranked(extraction, candidates)
        best_score = min(100.0, scored[0][0]) if scored else 0.0
        found_by = _by_name(scored, own)
        if found_by:
            score, supplier, rule = found_by
            return SupplierResult(
                match=SupplierMatch(
                    supplier_id=supplier.id,
                    rule=rule,
                    score=min(100.0, score),
                    detail=f"name {extraction.supplier_name!r} ~ {supplier.name!r}"
                    + (" (a supplier of this client)" if rule is MatchRule.NAME else ""),
                ),
                supplier=supplier,
            )
        if best_score >= NEW_BELOW:
            runner = ", ".join(f"{c.name!r} {min(100.0, s):.0f}" for s, c in scored[:3])
            notes.append(f"name {extraction.supplier_name!r} is close to {runner}: not guessed")

    is_new = best_score < NEW_BELOW and not identifier_known
    proposal = _proposal(extraction, proposal_id, uid) if is_new else None
    if proposal is not None:
        return SupplierResult(
            match=SupplierMatch(
                supplier_id=proposal.id,
                rule=MatchRule.PROPOSED,
                score=round(100 * extraction.conf("supplier_name"), 1),
                detail=f"new supplier {proposal.name!r} proposed from the document"
                + (f" (closest known: {best_score:.0f})" if best_score else ""),
            ),
            proposal=proposal,
        )
    return SupplierResult(
        match=SupplierMatch(
            rule=MatchRule.NONE,
            score=best_score,
            detail="; ".join(notes) or "no supplier matched",
        )
    )


def _by_alias(name: str, candidates: list[Supplier]) -> Supplier | None:
    """The one candidate a correction taught this printed name for; None when none or
    several (then the name is compared as usual)."""
    normalized = normalize_company_name(name)
    hits = [c for c in candidates if normalized and normalized in c.aliases]
    return hits[0] if len(hits) == 1 else None


def _by_name(
    scored: list[tuple[float, Supplier]], own: set[str]
) -> tuple[float, Supplier, MatchRule] | None:
    """The client's own suppliers first: a clear winner among them is taken unless some
    other supplier of the firm scores *higher*; otherwise the whole directory decides."""
    mine = [pair for pair in scored if pair[1].id in own]
    others = [pair for pair in scored if pair[1].id not in own]
    winner = _clear_winner(mine)
    if winner is not None and (not others or others[0][0] <= winner[0]):
        return winner[0], winner[1], MatchRule.NAME
    winner = _clear_winner(scored)
    if winner is None:
        return None
    rule = MatchRule.NAME if winner[1].id in own else MatchRule.NAME_DIRECTORY
    return winner[0], winner[1], rule


def _proposal(extraction: Extraction, proposal_id: str | None, uid: str | None) -> Supplier | None:
    """A new supplier from a confident reading: a name plus an identifier we can check."""
    name = (extraction.supplier_name or "").strip()
    if not proposal_id or not name or extraction.conf("supplier_name") < CONFIDENT_READING:
        return None
    iban = normalize_iban(extraction.supplier_iban) if extraction.supplier_iban else None
    iban_ok = valid_iban(iban) and extraction.conf("supplier_iban") >= CONFIDENT_READING
    uid_ok = valid_uid(uid) and extraction.conf("supplier_uid") >= CONFIDENT_READING
    if not (iban_ok or uid_ok):
        return None
    return Supplier(
        id=proposal_id,
        name=name[:200],
        uid=uid if uid_ok else None,
        ibans=[iban] if iban_ok and iban else [],
        address=extraction.supplier_address,
        status=SupplierStatus.PROPOSED,
    )
