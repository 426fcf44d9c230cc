"""Bank statements as fiduflow reads them: ISO 20022 camt.053 / camt.054, parsed.

A `Statement` is one `Stmt` (camt.053, end-of-day statement) or one `Ntfctn` (camt.054,
debit/credit notification) of a file; its `BankEntry`s are the bank's bookings (`Ntry`), and
each entry's `BankTransaction`s are what it pays or collects (`TxDtls`): one for a single
payment, several for a batch (Sammelbuchung), whose amount is split per transaction.

Amounts are signed from the account holder's side: negative = debit (money out). Models
only, no I/O; `extractors.camt` fills them from the XML. `camt_message` tells a camt root
element by its namespace, for the parser and for the intake's type sniffing alike.
"""

import hashlib
import json
import re
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field


class StatementKind(StrEnum):
    CAMT053 = "camt053"  # Bank-to-Customer Statement (Kontoauszug)
    CAMT054 = "camt054"  # Bank-to-Customer Debit/Credit Notification (Gutschriftsanzeige)


class EntryStatus(StrEnum):
    """ISO 20022 entry status codes: only booked entries change the booked balance."""

    BOOKED = "BOOK"
    PENDING = "PDNG"
    INFO = "INFO"
    FUTURE = "FUTR"


class ReferenceType(StrEnum):
    QRR = "QRR"  # QR reference (27 digits, mod 10), the QR-bill's; same shape as the old ESR
    SCOR = "SCOR"  # ISO 11649 creditor reference (RF..)
    OTHER = "OTHER"  # a creditor reference of another kind


# urn:iso:std:iso:20022:tech:xsd:camt.053.001.04 -> (camt053, 4)
_CAMT_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(053|054)\.001\.(\d{2})")
_KINDS = {"053": StatementKind.CAMT053, "054": StatementKind.CAMT054}


def camt_message(root_tag: object) -> tuple[StatementKind, int] | None:
    """Kind and schema version of a camt root element (`{namespace}Document`), else None."""
    if not isinstance(root_tag, str) or not root_tag.startswith("{"):
        return None
    namespace, _, local = root_tag[1:].partition("}")
    found = _CAMT_NAMESPACE.fullmatch(namespace)
    if found is None or local != "Document":
        return None
    return _KINDS[found[1]], int(found[2])


class Balance(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: Decimal  # signed: negative = overdrawn
    currency: str
    as_of: date | None = None  # the balance's date


class BankTransaction(BaseModel):
    """One payment inside an entry (`TxDtls`), or the entry itself when it has none."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal  # signed: negative = debit
    currency: str
    counterparty_name: str | None = None  # the payer of a credit, the payee of a debit
    counterparty_iban: str | None = None
    reference: str | None = None  # creditor reference, no spaces
    reference_type: ReferenceType | None = None
    end_to_end_id: str | None = None  # the payer's own id; `NOTPROVIDED` is read as none
    remittance: str | None = None  # unstructured remittance text
    bank_reference: str | None = None  # the bank's `AcctSvcrRef` of this transaction


class BankEntry(BaseModel):
    """One booking on the account (`Ntry`)."""

    model_config = ConfigDict(frozen=True)

    bank_reference: str | None = None  # the bank's `AcctSvcrRef`, unique per account
    entry_reference: str | None = None  # `NtryRef` (PostFinance: the QR-IBAN credited)
    booking_date: date | None = None
    value_date: date | None = None
    amount: Decimal  # signed: negative = debit
    currency: str
    status: EntryStatus = EntryStatus.BOOKED
    reversal: bool = False  # a reversal of an earlier entry; the sign already says which way
    batch_count: int | None = None  # `Btch/NbOfTxs`, as the bank states it
    additional_info: str | None = None  # `AddtlNtryInf`: the bank's text for the entry
    transactions: list[BankTransaction] = Field(default_factory=list)
    # How many entries before this one in the same statement have exactly the same fields:
    # two identical fee debits on one day without a bank reference are still two entries.
    occurrence: int = 0

    @property
    def split_difference(self) -> Decimal:
        """Entry amount minus the sum of its transactions (zero when the split adds up)."""
        return self.amount - sum((t.amount for t in self.transactions), Decimal(0))

    def fields_hash(self) -> str:
        """A digest of what the bank says about the entry (not `status`: a pending entry
        and the same entry booked later are one movement of money)."""
        payload = {
            "entry_reference": self.entry_reference,
            "booking_date": self.booking_date.isoformat() if self.booking_date else None,
            "value_date": self.value_date.isoformat() if self.value_date else None,
            "amount": str(self.amount),
            "currency": self.currency,
            "reversal": self.reversal,
            "additional_info": self.additional_info,
            "transactions": [t.model_dump(mode="json") for t in self.transactions],
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def entry_key(self) -> str:
        """Stable identity of the entry within its account (DESIGN "Life of a bank
        statement", step 3): the bank's reference, else a digest of the entry's fields, so
        the same entry in an overlapping statement gets the same key. The prefixes keep a
        bank reference from ever equalling a digest."""
        if self.bank_reference:
            return f"ref:{self.bank_reference}"
        suffix = f"#{self.occurrence}" if self.occurrence else ""
        return f"sha256:{self.fields_hash()}{suffix}"


class Statement(BaseModel):
    """One statement (`Stmt`) or notification (`Ntfctn`) of a camt file."""

    model_config = ConfigDict(frozen=True)

    kind: StatementKind
    version: int  # the schema's last number: 4 for camt.053.001.04
    message_id: str | None = None  # `GrpHdr/MsgId`, shared by all statements of a file
    statement_id: str | None = None  # `Stmt/Id` / `Ntfctn/Id`
    account_iban: str | None = None  # `Acct/Id/IBAN`, no spaces
    account_id: str  # the IBAN, or the bank's other account id when it gives no IBAN
    account_owner: str | None = None
    currency: str | None = None  # the account's; else the balances' or entries'
    period_from: date | None = None
    period_to: date | None = None
    opening: Balance | None = None  # OPBD (or PRCD, the previous statement's closing)
    closing: Balance | None = None  # CLBD
    entries: list[BankEntry] = Field(default_factory=list)
