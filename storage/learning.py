"""What corrections teach, per client and supplier, and what was learned so far.

A person's correction of a document (`storage.tasks.complete_task` with corrections, or
a reject with reason `private`) teaches, for the document's client and supplier:

- the account, VAT code and payment method it was booked with, and "private"
  (`learned_rules`; the latest correction wins, every change is kept in
  `learned_changes`);
- when the supplier itself was corrected: the name printed on the document as a name
  alias of that supplier (the matcher finds it by that name next time) and — only when
  staff corrected it — the printed IBAN as an IBAN alias and a confirmed account of the
  supplier. A client's correction never makes an IBAN known (DESIGN.md: bank details are
  confirmed by staff only);
- for a corrected reading field (invoice number, total, dates, reference): where the
  supplier's layout prints it, when the corrected value is found among the words of the
  document's reading (`field_positions`, fractions of the page). The next document of
  that supplier is read there where the reader missed or doubted the field
  (`extractors.learned_positions`, the `read-learned-positions` step); the task page and
  the supplier page show them.

Routing gets what was learned as a `domain.learned.Learned` argument (`learned_for`).
"""

import logging
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum import iban as stdnum_iban

from domain.enums import AliasKind, LearnedField, LearnedHow, PaymentMethod, SupplierStatus
from domain.identifiers import format_iban, normalize_company_name, normalize_iban
from domain.learned import (
    Learned,
    LearnedAlias,
    LearnedChangeView,
    LearnedPosition,
    LearnedValue,
    SupplierView,
)
from storage.masterdata import supplier_from_row
from storage.scope import Scope
from storage.tables import (
    ClientSupplier,
    DocumentRow,
    ExtractionRow,
    FieldPosition,
    LearnedChange,
    LearnedRule,
    ReadingCache,
    SupplierAlias,
    SupplierIban,
    SupplierRow,
    utcnow,
)

log = logging.getLogger(__name__)

# Corrected fields whose place on the page a supplier's layout teaches.
POSITIONED = ("invoice_number", "total", "issue_date", "due_date", "reference")
HISTORY_SHOWN = 50  # changes of a supplier's rules shown with what was learned
_WINDOW = 6  # a value printed as up to this many words ("RF18 5390 0754 7034")
_PROFIT_AND_LOSS = re.compile(r"^[3-8]\d{3}$")  # revenue and expense accounts (KMU chart)


class InvalidLearnedValue(ValueError):
    """A value that cannot be learned for that field (the API answers 422)."""


def clean_value(field: LearnedField, value: Any) -> str:
    """The stored form of a learned value, or InvalidLearnedValue naming what is wrong."""
    text = str(value.value if isinstance(value, PaymentMethod) else value).strip()
    if field is LearnedField.ACCOUNT and not re.fullmatch(r"\d{4}", text):
        raise InvalidLearnedValue("account must be a four-digit account of the chart")
    if field is LearnedField.VAT_CODE and not (0 < len(text) <= 20):
        raise InvalidLearnedValue("vat_code must be 1 to 20 characters")
    if field is LearnedField.PAYMENT_METHOD and text not in {m.value for m in PaymentMethod}:
        allowed = ", ".join(m.value for m in PaymentMethod)
        raise InvalidLearnedValue(f"payment_method must be one of {allowed}")
    if field is LearnedField.PRIVATE:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise InvalidLearnedValue("private must be true or false")
        return lowered
    return text


# --- teaching ------------------------------------------------------------------------------


CLIENT_USER = "a client's user"  # who taught a supplier-wide position, when not staff


def learn_from_correction(
    session: Session,
    *,
    client_id: str,
    supplier_id: str | None,
    document_id: int,
    given: dict[str, Any],
    by: str,
    staff: bool,
) -> list[str]:
    """Learn from one correction of a document; returns what was learned, as sentences.

    `given` are the corrected fields (`Corrections.given()`, plus `{"private": True}`
    for a reject as private); `supplier_id` the document's supplier (a corrected
    `supplier_id` in `given` takes precedence). Nothing is learned without a supplier.
    """
    target = given.get("supplier_id") or supplier_id
    supplier = session.get(SupplierRow, target) if target else None
    if supplier is None:
        return []
    learned: list[str] = []
    for field, value in _taught_values(given).items():
        if _upsert_rule(session, client_id, supplier.id, field, value, by, document_id):
            learned.append(f"{field.value} {value} for {supplier.name}")
    extraction = session.get(ExtractionRow, document_id)
    data = extraction.data if extraction is not None else {}
    if given.get("supplier_id"):
        learned += _learn_aliases(session, client_id, supplier, data, by, staff)
    # Positions are the supplier's, used for every client's documents from it: the name
    # of another client's user must not reach them (tenant data never crosses clients).
    learned += _learn_positions(session, supplier, document_id, given, by if staff else CLIENT_USER)
    session.flush()
    return learned


def _taught_values(given: dict[str, Any]) -> dict[LearnedField, str]:
    values: dict[LearnedField, str] = {}
    for field in (LearnedField.ACCOUNT, LearnedField.VAT_CODE, LearnedField.PAYMENT_METHOD):
        if given.get(field.value) is not None:
            values[field] = clean_value(field, given[field.value])
    if given.get("private") is not None:
        values[LearnedField.PRIVATE] = clean_value(LearnedField.PRIVATE, given["private"])
    main = _main_line(given.get("lines") or [])
    if main is not None:
        account, vat_code = main
        values.setdefault(LearnedField.ACCOUNT, account)
        if vat_code:
            values.setdefault(LearnedField.VAT_CODE, vat_code)
    return values


def _main_line(lines: list[Any]) -> tuple[str, str | None] | None:
    """The account (and VAT code) of the largest revenue or expense line of replaced lines:
    what a person who rewrote the lines booked the document to."""
    best: tuple[Decimal, str, str | None] | None = None
    for line in lines:
        get = line.get if isinstance(line, dict) else lambda k, line=line: getattr(line, k, None)
        account = str(get("account") or "")
        if not _PROFIT_AND_LOSS.match(account):
            continue
        amount = max(_decimal(get("debit")), _decimal(get("credit")))
        if best is None or amount > best[0]:
            best = (amount, account, get("vat_code"))
    return None if best is None else (best[1], best[2])


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _upsert_rule(
    session: Session,
    client_id: str,
    supplier_id: str,
    field: LearnedField,
    value: str,
    by: str,
    document_id: int | None,
    how: LearnedHow = LearnedHow.CORRECTION,
) -> bool:
    """Set one learned value (latest wins); False when it already was that value."""
    row = _rule(session, client_id, supplier_id, field)
    before = row.value if row is not None else None
    if before == value:
        return False
    if row is None:
        row = LearnedRule(client_id=client_id, supplier_id=supplier_id, field=field.value)
        session.add(row)
    row.value = value
    row.learned_by = by
    row.learned_at = utcnow()
    row.document_id = document_id
    session.add(
        LearnedChange(
            client_id=client_id,
            supplier_id=supplier_id,
            field=field.value,
            before=before,
            after=value,
            how=how.value,
            by=by,
            document_id=document_id,
        )
    )
    session.flush()
    return True


def _rule(
    session: Session, client_id: str, supplier_id: str, field: LearnedField
) -> LearnedRule | None:
    return session.scalar(
        select(LearnedRule).where(
            LearnedRule.client_id == client_id,
            LearnedRule.supplier_id == supplier_id,
            LearnedRule.field == field.value,
        )
    )


def _learn_aliases(
    session: Session,
    client_id: str,
    supplier: SupplierRow,
    data: dict[str, Any],
    by: str,
    staff: bool,
) -> list[str]:
    learned: list[str] = []
    printed = (data.get("supplier_name") or "").strip()
    normalized = normalize_company_name(printed)[:200] if printed else ""
    if normalized and normalized != supplier.name_normalized:
        # Taught by a client: its own matching uses it; by staff: every client's.
        owner = None if staff else client_id
        if _add_alias(session, supplier.id, AliasKind.NAME, printed, normalized, owner, by):
            learned.append(f"name {printed!r} is an alias of {supplier.name}")
    iban = normalize_iban(data.get("supplier_iban") or "")
    if staff and iban and stdnum_iban.is_valid(iban):
        from storage.bank_details import confirm_supplier_iban

        _add_alias(session, supplier.id, AliasKind.IBAN, format_iban(iban), iban, None, by)
        confirm_supplier_iban(session, supplier.id, iban, by)
        learned.append(f"IBAN {format_iban(iban)} confirmed as {supplier.name}'s")
    return learned


def _add_alias(
    session: Session,
    supplier_id: str,
    kind: AliasKind,
    value: str,
    normalized: str,
    client_id: str | None,
    by: str,
) -> bool:
    existing = session.scalar(
        select(SupplierAlias).where(
            SupplierAlias.supplier_id == supplier_id,
            SupplierAlias.kind == kind.value,
            SupplierAlias.normalized == normalized,
        )
    )
    if existing is not None:
        if existing.client_id is not None and existing.client_id != client_id:
            # A second client (or staff) taught the same: the firm's, for every client.
            existing.client_id = None
            return True
        return False
    row = SupplierAlias(
        supplier_id=supplier_id,
        kind=kind.value,
        value=value[:200],
        normalized=normalized,
        client_id=client_id,
        learned_by=by,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False  # taught by a concurrent correction a moment ago
    return True


# --- where a layout prints a field -------------------------------------------------------


def _learn_positions(
    session: Session, supplier: SupplierRow, document_id: int, given: dict[str, Any], by: str
) -> list[str]:
    fields = [f for f in POSITIONED if given.get(f) is not None]
    if not fields:
        return []
    pages = _reading_pages(session, document_id)
    learned = []
    for field in fields:
        found = find_printed(pages, printed_forms(given[field]))
        if found is None:
            continue
        page, box = found
        row = session.get(FieldPosition, (supplier.id, field))
        if row is None:
            row = FieldPosition(supplier_id=supplier.id, field=field)
            session.add(row)
        row.page, (row.x0, row.y0, row.x1, row.y1) = page, box
        row.learned_by, row.learned_at = by, utcnow()
        learned.append(f"{supplier.name} prints {field} on page {page}")
    return learned


def _reading_pages(session: Session, document_id: int) -> list[dict[str, Any]]:
    """The pages (words with positions, page size) of the document's stored reading."""
    document = session.get(DocumentRow, document_id)
    if document is None:
        return []
    data = session.scalar(
        select(ReadingCache.data)
        .where(ReadingCache.sha256 == document.sha256)
        .order_by(ReadingCache.created_at.desc())
        .limit(1)
    )
    return list((data or {}).get("pages") or [])


def printed_forms(value: Any) -> set[str]:
    """How a value may be printed, compacted (no spaces, lower case)."""
    if isinstance(value, date):
        d, m, y = value.day, value.month, value.year
        forms = {
            f"{d:02d}.{m:02d}.{y}",
            f"{d}.{m}.{y}",
            f"{d:02d}.{m:02d}.{y % 100:02d}",
            value.isoformat(),
            f"{d:02d}/{m:02d}/{y}",
        }
    elif isinstance(value, Decimal | int | float) or _is_amount(value):
        amount = abs(Decimal(str(value))).quantize(Decimal("0.01"))
        plain = f"{amount:.2f}"
        grouped = f"{amount:,.2f}"
        forms = {
            plain,
            grouped.replace(",", "'"),
            grouped.replace(",", "’"),
            grouped,
            plain.replace(".", ","),
            grouped.replace(",", ""),
        }
    else:
        forms = {str(value)}
    return {_compact(f) for f in forms if f}


def _is_amount(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value) is not None


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text).lower().strip(":;,")


def find_printed(
    pages: list[dict[str, Any]], forms: set[str]
) -> tuple[int, tuple[float, float, float, float]] | None:
    """The first place where one of `forms` is printed (one word, or up to `_WINDOW`
    neighbouring words of a line), as (page, box in fractions of the page)."""
    for page in pages:
        width, height = float(page.get("width") or 0), float(page.get("height") or 0)
        words = page.get("words") or []
        if not width or not height:
            continue
        for start, first in enumerate(words):
            text = ""
            for word in words[start : start + _WINDOW]:
                if abs(float(word["top"]) - float(first["top"])) > 3:
                    break  # another line
                text += _compact(word["text"])
                if text in forms or text.rstrip(".") in forms:
                    box = (
                        float(first["x0"]) / width,
                        float(first["top"]) / height,
                        float(word["x1"]) / width,
                        float(word["bottom"]) / height,
                    )
                    return int(page.get("number") or first.get("page") or 1), box
    return None


# --- what was learned ----------------------------------------------------------------------


def learned_for(session: Session, client_id: str, supplier_id: str) -> Learned:
    """Everything learned for this client and supplier (rules, aliases the client's
    matching uses, the supplier's layout, the last changes)."""
    rules = session.scalars(
        select(LearnedRule).where(
            LearnedRule.client_id == client_id, LearnedRule.supplier_id == supplier_id
        )
    )
    values = {
        LearnedField(r.field): LearnedValue(
            field=LearnedField(r.field),
            value=r.value,
            learned_by=r.learned_by,
            learned_at=r.learned_at,
            document_id=r.document_id,
        )
        for r in rules
    }
    aliases = session.scalars(
        select(SupplierAlias)
        .where(
            SupplierAlias.supplier_id == supplier_id,
            or_(SupplierAlias.client_id == client_id, SupplierAlias.client_id.is_(None)),
        )
        .order_by(SupplierAlias.id)
    )
    positions = session.scalars(
        select(FieldPosition)
        .where(FieldPosition.supplier_id == supplier_id)
        .order_by(FieldPosition.field)
    )
    history = session.scalars(
        select(LearnedChange)
        .where(LearnedChange.client_id == client_id, LearnedChange.supplier_id == supplier_id)
        .order_by(LearnedChange.id.desc())
        .limit(HISTORY_SHOWN)
    )
    return Learned(
        client_id=client_id,
        supplier_id=supplier_id,
        values=values,
        aliases=[
            LearnedAlias(
                kind=AliasKind(a.kind),
                value=a.value,
                learned_by=a.learned_by,
                learned_at=a.learned_at,
            )
            for a in aliases
        ],
        positions=[
            LearnedPosition(
                field=p.field,
                page=p.page,
                x0=p.x0,
                y0=p.y0,
                x1=p.x1,
                y1=p.y1,
                learned_by=p.learned_by,
                learned_at=p.learned_at,
            )
            for p in positions
        ],
        history=[
            LearnedChangeView(
                field=LearnedField(c.field),
                before=c.before,
                after=c.after,
                how=LearnedHow(c.how),
                by=c.by,
                at=c.at,
                document_id=c.document_id,
            )
            for c in history
        ],
    )


def set_learned(
    session: Session, client_id: str, supplier_id: str, field: LearnedField, value: Any, by: str
) -> LearnedValue:
    """A person sets what is learned (supplier page, API); kept in the history."""
    cleaned = clean_value(field, value)
    _upsert_rule(session, client_id, supplier_id, field, cleaned, by, None, LearnedHow.EDITED)
    learned = learned_for(session, client_id, supplier_id).get(field)
    assert learned is not None
    return learned


def forget_learned(
    session: Session, client_id: str, supplier_id: str, field: LearnedField, by: str
) -> bool:
    """A person deletes a learned value; False when there was none."""
    row = _rule(session, client_id, supplier_id, field)
    if row is None:
        return False
    session.add(
        LearnedChange(
            client_id=client_id,
            supplier_id=supplier_id,
            field=field.value,
            before=row.value,
            after=None,
            how=LearnedHow.DELETED.value,
            by=by,
        )
    )
    session.execute(delete(LearnedRule).where(LearnedRule.id == row.id))
    session.flush()
    return True


# --- the supplier resource -----------------------------------------------------------------


def visible_supplier(session: Session, scope: Scope, supplier_id: str) -> SupplierRow | None:
    """The supplier, if the scope may see it; None answers 404 like a missing id.

    Staff see every supplier. A client's company users see the suppliers it works with
    (`client_suppliers`), those proposed from its documents, and any supplier one of its
    documents was matched to (its own paper, so nothing leaks). Employees see none:
    employee access is upload only."""
    row = session.get(SupplierRow, supplier_id)
    if row is None or scope.client_id is None:
        return row
    if scope.employee is not None:
        return None
    client_id = scope.client_id
    if row.proposed_by_client_id == client_id:
        return row
    if row.status != SupplierStatus.ACTIVE.value:
        return None  # another client's proposal
    works_with = select(ClientSupplier.supplier_id).where(
        ClientSupplier.client_id == client_id, ClientSupplier.supplier_id == supplier_id
    )
    on_its_paper = select(DocumentRow.id).where(
        DocumentRow.client_id == client_id, DocumentRow.supplier_id == supplier_id
    )
    if session.scalar(works_with) is not None:
        return row
    return row if session.scalar(on_its_paper.limit(1)) is not None else None


def supplier_view(session: Session, row: SupplierRow, client_id: str | None) -> SupplierView:
    ibans = sorted(
        session.scalars(select(SupplierIban.iban).where(SupplierIban.supplier_id == row.id))
    )
    supplier = supplier_from_row(row, ibans)
    return SupplierView(
        id=row.id,
        name=row.name,
        uid=row.uid,
        ibans=[format_iban(i) for i in ibans],
        address=supplier.address,
        account=row.account,
        status=supplier.status,
        client_id=client_id,
        learned=learned_for(session, client_id, row.id) if client_id else None,
    )
