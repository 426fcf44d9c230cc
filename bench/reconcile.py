"""Bank reconciliation on a generated year of one client: how much matches, how right,
and what a statement costs as the open items grow.

    .venv/bin/python bench/reconcile.py                      # a year + 100 / 1k / 10k / 100k
    .venv/bin/python bench/reconcile.py --sizes 100,1000 --statement 200 --seed 3
    .venv/bin/python bench/reconcile.py --no-storage         # the pure reconciliation only

The year (one client, twelve monthly statements, the truth of every entry known):
- supplier invoices from ~80 suppliers (docgen companies: real towns, valid IBANs,
  QR-IBANs): with a QR reference (suppliers with a QR-IBAN), a SCOR reference, or none;
  paid on time, mid-term, late (outside the date window), with 2 % Skonto, or together
  with other invoices of the same supplier in one collective debit; some suppliers
  bill the same amount every month; a few invoices stay unpaid;
- receipts paid by card, the card line printing the merchant as card statements do
  ("COOP-4711 ZUERICH"), booked 0-3 days after the purchase; a few card lines have no
  receipt;
- entries booked by posting rules: rent, leasing, loan interest, bank fees, salaries,
  social insurance;
- customer invoices of the client paid by credits (reference, IBAN, name; some less a
  fee or 2 % Skonto), credits that are no invoice's;
- decoys: debits to creditors the client has no document of, for the same amount as an
  open invoice of another supplier; payments to known suppliers whose invoice is missing.
The bank prints counterparty names in capitals, without the legal form, with the town.

Each monthly statement is reconciled against what is open then (documents written by the
month's end, not yet matched), and matched documents leave the open set, as in production;
so do the right candidates of a suggestion (a person works the task and picks it).

auto-matched = entries that pay documents, matched to exactly the right documents
precision    = right matches / all matches (a wrong document, or one for an entry with none)
time         = one statement of N entries against 100 ... 100,000 open items (the year's
               documents plus other open items of the client), after the index is built;
               naive = the same decisions with a scan of every open item per entry.

Through storage (SQLite in a temporary folder, as production runs it; `--no-storage` skips):
- the year again, through `flows.bank_statements.take_in_statements`: each month the
  documents written by its end become `open_items` rows, its statement is taken in
  (stored, candidates looked up by index, reconciled, booked or asked), and a person picks
  the right candidate of each suggestion after the statement; auto-matched and precision
  as above, and every debit without document or rule must have exactly one
  missing_document task;
- the statement of the timing above against 100 ... 100,000 `open_items` rows (the
  statement's documents and other open items, each with its documents row and booking,
  2 % of the others' bookings discarded): median of 3 passes, each rolled back;
  lookup = `candidates_for` alone; same = the stored decisions are those of
  `reconcile_statement` in memory with every open item. At 100 open items some of the
  statement's documents are missing, so fewer payments are booked: flat_ratio_1k
  (100,000 against 1,000) compares the same work.
"""

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from domain.bank import BankEntry, BankTransaction, Statement, StatementKind  # noqa: E402
from domain.enums import TaskKind  # noqa: E402
from domain.identifiers import normalize_company_name  # noqa: E402
from domain.masterdata import MasterData  # noqa: E402
from domain.reconciliation import (  # noqa: E402
    Direction,
    EntryToMatch,
    MatchOutcome,
    MatchStatus,
    OpenItem,
    OpenItemKind,
    PaymentMatch,
    PostingRule,
    ReconciliationSettings,
)
from flows.bank_statements import take_in_statements  # noqa: E402
from routing.reconcile import (  # noqa: E402
    OpenItems,
    index_open_items,
    name_index_key,
    reconcile,
    reconcile_statement,
)
from storage import open_items  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.masterdata import get_client, load_master_data  # noqa: E402
from storage.tables import (  # noqa: E402
    BankTransactionRow,
    BookingRow,
    DocumentRow,
    OpenItemRow,
    TaskRow,
)
from tests.docgen.identities import (  # noqa: E402
    qr_iban,
    qrr_reference,
    random_company,
    random_person,
    scor_reference,
    swiss_iban,
)
from tests.docgen.swiss_formats import round05  # noqa: E402

TARGET_AUTO = 0.95
TARGET_PRECISION = 0.995
REPEAT = 5  # passes over the statement per size
YEAR = 2026
D = Decimal
CENT = D("0.01")
TOWNS = ("ZUERICH", "BERN", "WINTERTHUR", "BASEL", "LUZERN", "ST. GALLEN")

# (the name a receipt is read as, how a card statement prints the merchant)
MERCHANTS = (
    ("Coop Genossenschaft", "COOP-{n} {town}"),
    ("Coop Pronto", "COOP PRONTO {town}"),
    ("Migrolino AG", "MIGROLINO {town}"),
    ("Migros Genossenschaft", "MIGROS M {town}"),
    ("Shell Switzerland AG", "SHELL {n} {town}"),
    ("BP Tankstelle Zentrum", "BP {n} {town}"),
    ("SBB CFF FFS", "SBB CFF FFS {town}"),
    ("Parkhaus City AG", "PARKHAUS CITY {town}"),
    ("Restaurant Krone", "REST. KRONE {town}"),
    ("Landi Schweiz AG", "LANDI {town}"),
    ("Digitec Galaxus AG", "DIGITEC GALAXUS AG"),
    ("Starbucks Coffee", "STARBUCKS {town}"),
    ("Manor AG", "MANOR {town}"),
    ("Jumbo-Markt AG", "JUMBO {town}"),
    ("Hotel Schweizerhof", "HOTEL SCHWEIZERHOF {town}"),
    ("Office World AG", "OFFICE WORLD {n} {town}"),
)

RULES = [
    PostingRule(name="Rent", counterparty_iban="CH4309000000250097798", account="6000"),
    PostingRule(
        name="Leasing",
        counterparty_iban="CH2800700110000123001",
        amount=D("489.00"),
        account="6260",
    ),
    PostingRule(name="Loan interest", text_contains="Darlehenszins", account="6900"),
    PostingRule(name="Bank fees", text_contains="Kontoführung", account="6900"),
    PostingRule(
        name="Salaries", text_contains="Lohnzahlung", direction=Direction.DEBIT, account="5000"
    ),
    PostingRule(name="Social insurance", counterparty_iban="CH7700700110000999111", account="5700"),
]


@dataclass
class Party:
    id: str
    name: str
    iban: str
    qr_iban: str | None = None
    fixed_amount: Decimal | None = None  # bills the same every month
    uses_scor: bool = False
    person: bool = False


@dataclass
class Truth:
    documents: frozenset[int] = frozenset()
    rule: str | None = None  # a posting rule's entry


@dataclass
class Year:
    entries: list[tuple[EntryToMatch, Truth]] = field(default_factory=list)
    documents: list[OpenItem] = field(default_factory=list)
    written: dict[int, date] = field(default_factory=dict)  # when a document exists


def amount(r: random.Random, lo: int, hi: int) -> Decimal:
    return (D(r.randint(lo * 100, hi * 100)) / 100).quantize(CENT)


def bank_name(r: random.Random, name: str) -> str:
    """The counterparty's name as the bank prints it."""
    roll = r.random()
    words = name.split()
    forms = ("AG", "GmbH", "SA", "Sàrl", "Sagl", "KLG")
    form_dropped = " ".join(words[:-1]) if len(words) > 1 and words[-1] in forms else name
    if roll < 0.35:
        return name.upper()
    if roll < 0.55:
        return form_dropped.upper()
    if roll < 0.65:
        return f"{name.upper()} {r.choice(TOWNS)}"
    return name


def ocr_slip(r: random.Random, name: str) -> str:
    """A receipt read with one letter wrong, now and then."""
    if r.random() > 0.05 or len(name) < 6:
        return name
    i = r.randrange(1, len(name) - 1)
    return name[:i] + name[i + 1 :]


class Generator:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.next_id = 1
        self.year = Year()
        self.suppliers = self._suppliers(80)
        self.customers = self._customers(40)

    def _suppliers(self, n: int) -> list[Party]:
        r, seen, out = self.r, set(), []
        while len(out) < n:
            c = random_company(r, "CH")
            key = normalize_company_name(c.name)
            if key in seen:
                continue
            seen.add(key)
            out.append(
                Party(
                    id=f"S{len(out):03d}",
                    name=c.name,
                    iban=c.iban or swiss_iban(r),
                    qr_iban=qr_iban(r) if r.random() < 0.55 else None,
                    fixed_amount=amount(r, 40, 900) if r.random() < 0.1 else None,
                    uses_scor=r.random() < 0.3,
                )
            )
        return out

    def _customers(self, n: int) -> list[Party]:
        r, out = self.r, []
        for i in range(n):
            person = r.random() < 0.5
            if person:
                first, last, _ = random_person(r)
                name = f"{first} {last}"
            else:
                name = random_company(r, "CH").name
            out.append(Party(id=f"K{i:03d}", name=name, iban=swiss_iban(r), person=person))
        return out

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_entry(self, entry: EntryToMatch, truth: Truth) -> None:
        self.year.entries.append((entry, truth))

    def document(self, item: OpenItem, written: date) -> OpenItem:
        self.year.documents.append(item)
        self.year.written[item.document_id] = written
        return item

    # --- supplier invoices -------------------------------------------------------

    def supplier_invoice(self, s: Party, issued: date) -> tuple[OpenItem, str]:
        r = self.r
        due = issued + timedelta(days=r.choice((10, 20, 30, 30, 30)))
        reference = None
        how = "none"
        if s.qr_iban:
            reference, how = qrr_reference(r), "qrr"
        elif s.uses_scor:
            reference, how = scor_reference(r), "scor"
        total = s.fixed_amount or amount(r, 60, 8000)
        number = f"RE-{issued:%y}-{r.randint(1000, 99999)}"
        item = OpenItem(
            document_id=self.new_id(),
            kind=OpenItemKind.INVOICE,
            supplier_id=s.id,
            supplier_name=s.name,
            supplier_ibans=tuple(i for i in (s.iban, s.qr_iban) if i),
            amount=total,
            currency="CHF",
            issue_date=issued,
            due_date=due,
            reference=reference,
            invoice_number=number,
        )
        return self.document(item, issued + timedelta(days=r.randint(1, 3))), how

    def pay_invoice(self, s: Party, item: OpenItem, how: str) -> None:
        r = self.r
        assert item.issue_date and item.due_date
        roll = r.random()
        paid = item.amount
        if roll < 0.06:  # cash discount: paid within ten days
            booked = item.issue_date + timedelta(days=r.randint(3, 10))
            paid = round05(item.amount * D("0.98"))
        elif roll < 0.12:  # late, outside any date window
            booked = item.due_date + timedelta(days=r.randint(15, 60))
        else:
            booked = item.issue_date + timedelta(
                days=r.randint(3, (item.due_date - item.issue_date).days + 4)
            )
        with_reference = how != "none" and r.random() < 0.95
        iban = s.qr_iban if how == "qrr" else s.iban
        remittance = ""
        if not with_reference and r.random() < 0.4:
            remittance = f"Rechnung {item.invoice_number}"
        self.add_entry(
            EntryToMatch(
                amount=-paid,
                currency="CHF",
                booking_date=booked,
                counterparty_name=bank_name(r, s.name),
                counterparty_iban=iban,
                reference=item.reference if with_reference else None,
                remittance=remittance,
            ),
            Truth(documents=frozenset({item.document_id})),
        )

    def collective(self, s: Party, items: list[OpenItem]) -> None:
        last_due = max(i.due_date for i in items if i.due_date)
        self.add_entry(
            EntryToMatch(
                amount=-sum(i.amount for i in items),
                currency="CHF",
                booking_date=last_due - timedelta(days=self.r.randint(0, 5)),
                counterparty_name=bank_name(self.r, s.name),
                counterparty_iban=s.iban,
                remittance="Rechnungen " + ", ".join(i.invoice_number or "" for i in items),
            ),
            Truth(documents=frozenset(i.document_id for i in items)),
        )

    # --- the month ---------------------------------------------------------------

    def month(self, m: int, invoices: int, card_lines: int, customer_invoices: int) -> None:
        r = self.r
        start = date(YEAR, m, 1)
        days = ((date(YEAR, m + 1, 1) if m < 12 else date(YEAR + 1, 1, 1)) - start).days

        def day() -> date:
            return start + timedelta(days=r.randrange(days))

        # Subscriptions bill the same amount once a month; the others, at random.
        subscriptions = [p for p in self.suppliers if p.fixed_amount]
        others = [p for p in self.suppliers if not p.fixed_amount]
        weights = [1 / (k + 1) ** 0.7 for k in range(len(others))]
        billing = [*subscriptions, *r.choices(others, weights=weights, k=invoices)]
        held: dict[str, list[OpenItem]] = {}  # invoices kept for a collective debit
        for s in billing[:invoices]:
            item, how = self.supplier_invoice(s, day())
            if how == "none" and not s.fixed_amount and r.random() < 0.12:
                held.setdefault(s.id, []).append(item)
            elif r.random() < 0.97:
                self.pay_invoice(s, item, how)
            # else: stays unpaid, an open item to get confused by
        plain = [p for p in self.suppliers if not p.qr_iban and not p.uses_scor]
        for s in r.sample(plain, 3):  # a supplier paid for several invoices at once
            for _ in range(r.randint(2, 4)):
                item, _how = self.supplier_invoice(s, start + timedelta(days=r.randrange(20)))
                held.setdefault(s.id, []).append(item)
        for sid, items in held.items():
            s = next(p for p in self.suppliers if p.id == sid)
            if len(items) >= 2:
                self.collective(s, items)
            else:
                self.pay_invoice(s, items[0], "none")
        for _ in range(card_lines):
            self.card_line(day())
        self.rule_entries(start, days)
        for _ in range(customer_invoices):
            self.customer_invoice(day())
        self.without_documents(day)

    def card_line(self, bought: date) -> None:
        r = self.r
        read_as, printed = r.choice(MERCHANTS)
        paid = D(r.choice(("3.00", "5.00"))) if "Parkhaus" in read_as else amount(r, 4, 250)
        booked = bought + timedelta(days=r.randint(0, 3))
        truth = Truth()
        if r.random() < 0.95:
            item = OpenItem(
                document_id=self.new_id(),
                kind=OpenItemKind.RECEIPT,
                supplier_name=ocr_slip(r, read_as),
                amount=paid,
                currency="CHF",
                issue_date=bought,
            )
            self.document(item, bought)
            truth = Truth(documents=frozenset({item.document_id}))
        text = printed.format(n=r.randint(1000, 9999), town=r.choice(TOWNS))
        self.add_entry(
            EntryToMatch(
                amount=-paid,
                currency="CHF",
                booking_date=booked,
                remittance=f"Einkauf Debitkarte {bought:%d.%m.%Y} {text}",
            ),
            truth,
        )

    def rule_entries(self, start: date, days: int) -> None:
        r = self.r
        end = start + timedelta(days=days - 1)

        def add(
            paid: Decimal, on: date, name: str | None, iban: str | None, text: str, rule: str
        ) -> None:
            self.add_entry(
                EntryToMatch(
                    amount=-paid,
                    currency="CHF",
                    booking_date=on,
                    counterparty_name=name,
                    counterparty_iban=iban,
                    remittance=text,
                ),
                Truth(rule=rule),
            )

        add(D("2800.00"), start, "Immobilien Treuhand Seefeld AG", RULES[0].counterparty_iban,
            f"Miete {start:%m/%Y}", "Rent")  # fmt: skip
        add(D("489.00"), start + timedelta(days=4), "AMAG Leasing AG", RULES[1].counterparty_iban,
            "Leasingrate Vertrag 77821", "Leasing")  # fmt: skip
        if start.month % 3 == 0:
            add(D("1250.00"), end, "Zürcher Kantonalbank", None,
                "Darlehenszins Q", "Loan interest")  # fmt: skip
        add(D(r.choice(("5.00", "7.50", "12.00"))), end, None, None,
            "Preis für Kontoführung", "Bank fees")  # fmt: skip
        for k in range(6):
            first, last, _ = random_person(random.Random(k))
            employee = swiss_iban(random.Random(100 + k))
            add(amount(r, 4200, 7800), start + timedelta(days=24), f"{first} {last}",
                employee, f"Lohnzahlung {start:%m/%Y}", "Salaries")  # fmt: skip
        add(amount(r, 3000, 5000), start + timedelta(days=9), "SVA Zürich",
            RULES[5].counterparty_iban, "AHV/IV/EO Akonto", "Social insurance")  # fmt: skip

    def customer_invoice(self, issued: date) -> None:
        r = self.r
        c = r.choice(self.customers)
        with_qr = r.random() < 0.7
        item = OpenItem(
            document_id=self.new_id(),
            kind=OpenItemKind.CUSTOMER_INVOICE,
            supplier_id=c.id,
            supplier_name=c.name,
            supplier_ibans=(c.iban,) if r.random() < 0.5 else (),
            amount=amount(r, 150, 12000),
            currency="CHF",
            issue_date=issued,
            due_date=issued + timedelta(days=30),
            reference=qrr_reference(r) if with_qr else None,
            invoice_number=f"F{issued:%y}{r.randint(100, 9999)}",
        )
        self.document(item, issued)
        if r.random() < 0.08:
            return  # not paid this year: stays open
        paid = item.amount
        roll = r.random()
        if roll < 0.05:
            paid = item.amount - D(r.choice(("1.50", "2.50", "4.00")))  # fees deducted
        elif roll < 0.10:
            paid = round05(item.amount * D("0.98"))
        name = c.name.upper() if r.random() < 0.5 else c.name
        if c.person and r.random() < 0.4:
            name = " ".join(reversed(c.name.split())).upper()  # "MUSTER HANS"
        self.add_entry(
            EntryToMatch(
                amount=paid,
                currency="CHF",
                booking_date=issued + timedelta(days=r.randint(5, 35)),
                counterparty_name=name,
                counterparty_iban=c.iban,
                reference=item.reference if with_qr and r.random() < 0.9 else None,
            ),
            Truth(documents=frozenset({item.document_id})),
        )

    def without_documents(self, day) -> None:  # type: ignore[no-untyped-def]
        r = self.r
        open_now = [d for d in self.year.documents if d.kind is OpenItemKind.INVOICE][-120:]
        for _ in range(8):  # another creditor, the amount of an open invoice
            decoy = r.choice(open_now)
            other = random_company(r, "CH")
            self.add_entry(
                EntryToMatch(
                    amount=-decoy.amount,
                    currency="CHF",
                    booking_date=day(),
                    counterparty_name=bank_name(r, other.name),
                    counterparty_iban=other.iban or swiss_iban(r),
                ),
                Truth(),
            )
        for _ in range(3):  # a known supplier, its invoice never sent in
            s = r.choice(self.suppliers)
            self.add_entry(
                EntryToMatch(
                    amount=-amount(r, 60, 3000),
                    currency="CHF",
                    booking_date=day(),
                    counterparty_name=bank_name(r, s.name),
                    counterparty_iban=s.iban,
                ),
                Truth(),
            )
        for _ in range(4):  # anything else: an unknown creditor, an unknown amount
            other = random_company(r, "CH")
            self.add_entry(
                EntryToMatch(
                    amount=-amount(r, 20, 2000),
                    currency="CHF",
                    booking_date=day(),
                    counterparty_name=bank_name(r, other.name),
                    counterparty_iban=other.iban or swiss_iban(r),
                    remittance="Zahlung",
                ),
                Truth(),
            )
        for _ in range(2):  # a credit no invoice explains (a refund, a grant)
            other = random_company(r, "CH")
            self.add_entry(
                EntryToMatch(
                    amount=amount(r, 20, 900),
                    currency="CHF",
                    booking_date=day(),
                    counterparty_name=other.name,
                    counterparty_iban=other.iban or swiss_iban(r),
                    remittance="Rückerstattung",
                ),
                Truth(),
            )


def generate(seed: int, invoices: int, card_lines: int, customer_invoices: int) -> Year:
    g = Generator(seed)
    for m in range(1, 13):
        g.month(m, invoices, card_lines, customer_invoices)
    g.year.entries.sort(key=lambda pair: pair[0].booking_date)
    return g.year


# --- the year -------------------------------------------------------------------------


@dataclass
class Tally:
    entries: int = 0
    with_document: int = 0
    matched: int = 0
    right: int = 0
    wrong: int = 0
    ambiguous_with_document: int = 0
    missed: int = 0  # had a document, got missing_document / unmatched
    rule_entries: int = 0
    rule_right: int = 0
    nothing_entries: int = 0
    nothing_right: int = 0
    nothing_suggested: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)


def reconcile_year(year: Year, settings: ReconciliationSettings) -> Tally:
    tally = Tally()
    settled: set[int] = set()
    months = sorted({(e.booking_date.year, e.booking_date.month) for e, _ in year.entries})
    for y, m in months:
        end = date(y + m // 12, m % 12 + 1, 1)
        items = index_open_items(
            d
            for d in year.documents
            if d.document_id not in settled and year.written[d.document_id] < end
        )
        for entry, truth in year.entries:
            if (entry.booking_date.year, entry.booking_date.month) != (y, m):
                continue
            outcome = reconcile(entry, items, RULES, settings)
            count(tally, entry, truth, outcome)
            paid = {m.document_id for m in outcome.matches}
            # A suggestion is a task: the person picks the right candidate, if offered.
            offered = {m.document_id for m in outcome.suggestions}
            if truth.documents and truth.documents <= offered:
                paid |= truth.documents
            settled |= paid
            items = items.without(paid)
    return tally


def count(tally: Tally, entry: EntryToMatch, truth: Truth, outcome: MatchOutcome) -> None:
    tally.entries += 1
    tally.statuses[outcome.status.value] = tally.statuses.get(outcome.status.value, 0) + 1
    got = frozenset(m.document_id for m in outcome.matches)
    if outcome.status is MatchStatus.MATCHED:
        tally.matched += 1
        if got == truth.documents:
            tally.right += 1
            for m in outcome.matches[:1]:
                tally.by_rule[m.rule.value] = tally.by_rule.get(m.rule.value, 0) + 1
        else:
            tally.wrong += 1
            tally.samples.append(
                f"WRONG {entry.amount} {entry.counterparty_name}: {outcome.reason}"
            )
    if truth.documents:
        tally.with_document += 1
        if outcome.status is MatchStatus.AMBIGUOUS:
            tally.ambiguous_with_document += 1
            if len(tally.samples) < 40:
                tally.samples.append(f"ambiguous {entry.amount}: {outcome.reason[:160]}")
        elif outcome.status in (MatchStatus.MISSING_DOCUMENT, MatchStatus.UNMATCHED):
            tally.missed += 1
            if len(tally.samples) < 40:
                tally.samples.append(
                    f"missed {entry.amount} {entry.counterparty_name!r} "
                    f"ref={entry.reference} {entry.remittance[:50]!r}"
                )
    elif truth.rule:
        tally.rule_entries += 1
        tally.rule_right += outcome.posting_rule == truth.rule
    else:
        tally.nothing_entries += 1
        expected = MatchStatus.MISSING_DOCUMENT if entry.amount < 0 else MatchStatus.UNMATCHED
        tally.nothing_right += outcome.status is expected
        tally.nothing_suggested += outcome.status is MatchStatus.AMBIGUOUS


# --- time per statement -----------------------------------------------------------


def filler(r: random.Random, n: int, first_id: int) -> list[OpenItem]:
    """Other open items of the client: invoices, receipts and customer invoices of
    parties that none of the statement's entries is about."""
    syllables = ("ber", "gli", "mat", "son", "kel", "rin", "tal", "hof", "zen", "wal", "dor")
    out = []
    for k in range(n):
        kind = r.choices(list(OpenItemKind), weights=(60, 25, 15))[0]
        name = "".join(r.choice(syllables) for _ in range(3)).title()
        issued = date(YEAR, 1, 1) + timedelta(days=r.randrange(365))
        out.append(
            OpenItem(
                document_id=first_id + k,
                kind=kind,
                supplier_id=f"F{r.randrange(n // 5 + 1)}",
                supplier_name=f"{name} {r.choice(('Bau', 'Elektro', 'Handel', 'Beratung'))} AG",
                supplier_ibans=(swiss_iban(r),) if kind is not OpenItemKind.RECEIPT else (),
                amount=amount(r, 5, 9000),
                currency="CHF",
                issue_date=issued,
                due_date=issued + timedelta(days=30) if kind is not OpenItemKind.RECEIPT else None,
                reference=qrr_reference(r) if r.random() < 0.4 else None,
                invoice_number=None,
            )
        )
    return out


def naive_candidates(entry: EntryToMatch, keyed: list[tuple[OpenItem, set[str]]]) -> OpenItems:
    """What a scan of every open item finds for one entry (the index's keys, one by one)."""
    name = name_index_key(entry.counterparty_name) if entry.counterparty_name else None
    found = [
        item
        for item, names in keyed
        if (entry.reference is not None and item.reference == entry.reference)
        or (entry.counterparty_iban is not None and entry.counterparty_iban in item.supplier_ibans)
        or item.amount == entry.paid
        or (name is not None and name in names)
    ]
    return index_open_items(found)


def time_statements(
    year: Year, sizes: list[int], statement: int, naive_entries: int, seed: int
) -> list[dict]:
    r = random.Random(seed)
    settings = ReconciliationSettings()
    # One statement: N entries of the year, with the documents they pay.
    chosen = r.sample(year.entries, statement)
    wanted = {d for _, t in chosen for d in t.documents}
    own = [d for d in year.documents if d.document_id in wanted]
    results = []
    for size in sizes:
        # Below the statement's own documents (~170 for 200 entries), some of them are
        # left out: those entries then run through every step, the dearest path.
        extra = filler(r, max(0, size - len(own)), 10_000_000)
        items = (own + extra)[:size]
        t0 = time.perf_counter()
        index = index_open_items(items)
        build = time.perf_counter() - t0
        gc.collect()  # the garbage of building 100,000 items is not the statement's cost
        walls, cpus = [], []
        for _ in range(REPEAT):  # the first pass warms the caches; the median is shown
            t0, c0 = time.perf_counter(), time.process_time()
            outcomes = [reconcile(e, index, RULES, settings) for e, _ in chosen]
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        keyed = [(i, {name_index_key(n) for n in i.names}) for i in items]
        sample = chosen[:naive_entries]
        t0 = time.perf_counter()
        naive = [reconcile(e, naive_candidates(e, keyed), RULES, settings) for e, _ in sample]
        naive_per_entry = (time.perf_counter() - t0) / len(sample)
        same = all(a == b for a, b in zip(naive, outcomes, strict=False))
        results.append(
            {
                "size": len(items),
                "ms": wall * 1000,
                "cpu_ms": cpu * 1000,
                "per_entry_us": wall / statement * 1e6,
                "build_ms": build * 1000,
                "naive_ms": naive_per_entry * statement * 1000,
                "same": same,
            }
        )
    return results


# --- through storage -------------------------------------------------------------------

CLIENT = "B01"
OWN_IBAN = "CH5800791123000889012"  # the client's account the statements are of
STORAGE_REPEAT = 3  # statements per size, each rolled back
STATEMENT_IDS = 90_000_000  # documents rows of the statements themselves
FILLER_IDS = 10_000_000
DISCARDED_SHARE = 0.02  # filler items whose booking a person rejected: no debt any more
DOC_TYPES = {
    OpenItemKind.INVOICE: "supplier_invoice",
    OpenItemKind.RECEIPT: "receipt",
    OpenItemKind.CUSTOMER_INVOICE: "customer_invoice",
}
COUNTER_ACCOUNTS = {  # what the document's booking left open
    OpenItemKind.INVOICE: "2000",
    OpenItemKind.RECEIPT: "2000",
    OpenItemKind.CUSTOMER_INVOICE: "1100",
}


def year_suppliers(year: Year) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The year's suppliers (id → name, IBANs), as master data knows them."""
    return {
        d.supplier_id: (d.supplier_name or d.supplier_id, d.supplier_ibans)
        for d in year.documents
        if d.kind is OpenItemKind.INVOICE and d.supplier_id
    }


def firm(year: Year) -> MasterData:
    """One offline client with its own IBAN, the year's posting rules and suppliers."""
    suppliers = year_suppliers(year)
    return MasterData.model_validate(
        {
            "fiduciary": {"name": "Treuhand Bench AG", "inbound_domain": "in.bench.example"},
            "clients": [
                {
                    "id": CLIENT,
                    "name": "Bench Handel AG",
                    "mode": "offline",
                    "iban": OWN_IBAN,
                    "suppliers": sorted(suppliers),
                    "posting_rules": RULES,
                }
            ],
            "suppliers": [
                {"id": sid, "name": name, "iban": list(ibans)}
                for sid, (name, ibans) in sorted(suppliers.items())
            ],
        }
    )


def database(folder: Path, name: str, year: Year) -> Database:
    db = Database(f"sqlite:///{folder / name}")
    db.migrate()
    with db.session() as session:
        load_master_data(session, firm(year))
        session.execute(
            insert(DocumentRow), [document_row(STATEMENT_IDS + m, None) for m in range(24)]
        )
    return db


def document_row(document_id: int, kind: OpenItemKind | None) -> dict[str, object]:
    return {
        "id": document_id,
        "client_id": CLIENT,
        "channel": "web",
        "filename": f"{document_id}.pdf" if kind else f"{document_id}.xml",
        "media_type": "application/pdf" if kind else "application/xml",
        "size": 1,
        "sha256": f"{document_id:064x}",
        "state": "routed",
        "doc_type": DOC_TYPES[kind] if kind else "bank_statement",
    }


def stored(item: OpenItem, suppliers: set[str]) -> OpenItem:
    """The open item as `storage.open_items` gives it back: only master data's suppliers
    have an id (a customer or another party is known by its name and IBAN)."""
    if item.supplier_id in suppliers:
        return item
    return item.model_copy(update={"supplier_id": None})


def insert_open_items(
    session: Session, items: list[OpenItem], suppliers: set[str], r: random.Random
) -> None:
    """The items as booked documents waiting for their payment, in bulk: a documents row
    (the foreign key), the document's booking (a few rejected: no longer open), the open
    item."""
    for start in range(0, len(items), 5000):
        chunk = items[start : start + 5000]
        session.execute(insert(DocumentRow), [document_row(i.document_id, i.kind) for i in chunk])
        bookings = []
        for i in chunk:
            discarded = i.document_id >= FILLER_IDS and r.random() < DISCARDED_SHARE
            bookings.append(
                {
                    "client_id": CLIENT,
                    "document_id": i.document_id,
                    "origin_key": f"doc:{i.document_id}",
                    "status": "discarded" if discarded else "posted",
                    "date": i.issue_date or date(YEAR, 1, 1),
                    "currency": i.currency,
                    "kind": "document",
                }
            )
        returned = session.execute(
            insert(BookingRow).returning(BookingRow.document_id, BookingRow.id), bookings
        )
        booked = {document_id: booking_id for document_id, booking_id in returned}
        rows = []
        for i in chunk:
            # The account printed on the document: the QR-IBAN on a QR-bill.
            ibans = i.supplier_ibans
            printed = (
                (ibans[-1] if i.reference and i.reference.isdigit() else ibans[0])
                if ibans
                else None
            )
            rows.append(
                {
                    "document_id": i.document_id,
                    "client_id": CLIENT,
                    "kind": i.kind.value,
                    "amount": i.amount,
                    "currency": i.currency,
                    "issue_date": i.issue_date,
                    "due_date": i.due_date,
                    "reference": i.reference,
                    "invoice_number": i.invoice_number,
                    "supplier_id": i.supplier_id if i.supplier_id in suppliers else None,
                    "name": i.supplier_name,
                    "name_key": name_index_key(i.supplier_name) if i.supplier_name else None,
                    "iban": printed,
                    "counter_account": COUNTER_ACCOUNTS[i.kind],
                    "booking_id": booked[i.document_id],
                    "status": "open",
                }
            )
        session.execute(insert(OpenItemRow), rows)


def bank_statement(entries: list[EntryToMatch], tag: str) -> Statement:
    """The entries as the camt parser gives them: one transaction each."""
    return Statement(
        kind=StatementKind.CAMT053,
        version=4,
        statement_id=tag,
        account_iban=OWN_IBAN,
        account_id=OWN_IBAN,
        entries=[
            BankEntry(
                bank_reference=f"{tag}-{k}",
                booking_date=e.booking_date,
                value_date=e.booking_date,
                amount=e.amount,
                currency=e.currency,
                transactions=[
                    BankTransaction(
                        amount=e.amount,
                        currency=e.currency,
                        counterparty_name=e.counterparty_name,
                        counterparty_iban=e.counterparty_iban,
                        reference=e.reference,
                        remittance=e.remittance or None,
                    )
                ],
            )
            for k, e in enumerate(entries)
        ],
    )


def stored_outcomes(
    session: Session, document_id: int
) -> list[tuple[BankTransactionRow, MatchOutcome]]:
    rows = session.scalars(
        select(BankTransactionRow)
        .where(BankTransactionRow.document_id == document_id)
        .order_by(BankTransactionRow.id)
    )
    return [
        (
            row,
            MatchOutcome(
                status=MatchStatus(row.status),
                matches=[PaymentMatch.model_validate(m) for m in row.matches],
                suggestions=[PaymentMatch.model_validate(m) for m in row.suggestions],
                posting_rule=row.posting_rule,
                reason=row.reason,
            ),
        )
        for row in rows
    ]


def decided(outcome: MatchOutcome) -> tuple[str, frozenset[int], str | None]:
    return (
        outcome.status.value,
        frozenset(m.document_id for m in outcome.matches),
        outcome.posting_rule,
    )


def time_storage(
    folder: Path, year: Year, sizes: list[int], statement: int, seed: int
) -> list[dict]:
    """`take_in_statements` for one statement against 100 … 100,000 open items in SQLite,
    each pass rolled back; `same`: the stored decisions are those of the pure
    reconciliation with every open item indexed in memory."""
    r = random.Random(seed)
    settings = ReconciliationSettings()
    chosen = r.sample(year.entries, statement)  # the statement the pure timing takes
    entries = [e for e, _ in chosen]
    wanted = {d for _, t in chosen for d in t.documents}
    own = [d for d in year.documents if d.document_id in wanted]
    extra = filler(random.Random(seed + 1), max(0, max(sizes) - len(own)), FILLER_IDS)
    suppliers = set(year_suppliers(year))
    everything = [stored(i, suppliers) for i in own + extra]
    db = database(folder, "timing.db", year)
    document_id = STATEMENT_IDS
    results = []
    have = 0
    rows_r = random.Random(seed + 2)
    try:
        for size in sizes:
            with db.session() as session:
                insert_open_items(session, everything[have:size], suppliers, rows_r)
            have = max(have, size)
            with db.session() as session:
                discarded = set(
                    session.scalars(
                        select(BookingRow.document_id).where(BookingRow.status == "discarded")
                    )
                )
            items = [i for i in everything[:size] if i.document_id not in discarded]
            expected = reconcile_statement(entries, index_open_items(items), RULES, settings)
            gc.collect()
            walls, cpus, lookups, found, same = [], [], [], 0, True
            for _ in range(STORAGE_REPEAT):
                with Session(db.engine) as session:
                    session.begin()
                    client = get_client(session, CLIENT)
                    assert client is not None
                    t0 = time.perf_counter()
                    candidates = open_items.candidates_for(session, CLIENT, entries, name_index_key)
                    lookups.append(time.perf_counter() - t0)
                    found = len(candidates)
                    t0, c0 = time.perf_counter(), time.process_time()
                    take_in_statements(
                        session,
                        client,
                        document_id,
                        [bank_statement(entries, "T")],
                        date(YEAR, 12, 31),
                    )
                    walls.append(time.perf_counter() - t0)
                    cpus.append(time.process_time() - c0)
                    got = [decided(o) for _, o in stored_outcomes(session, document_id)]
                    same = same and got == [decided(o) for o in expected]
                    session.rollback()
            wall = statistics.median(walls)
            results.append(
                {
                    "size": size,
                    "ms": wall * 1000,
                    "cpu_ms": statistics.median(cpus) * 1000,
                    "per_entry_us": wall / statement * 1e6,
                    "lookup_ms": statistics.median(lookups) * 1000,
                    "candidates": found,
                    "same": same,
                }
            )
    finally:
        db.dispose()
    return results


@dataclass
class StorageYear:
    tally: Tally
    seconds: float
    statements: int
    missing_debits: int = 0  # debits without document or rule
    missing_one_task: int = 0  # … with exactly one missing_document task
    extra_tasks: int = 0  # transactions with more than one task
    differ: int = 0  # entries decided otherwise than in memory with every open item


def storage_year(folder: Path, year: Year) -> StorageYear:
    """The year through storage: each month, the documents written by its end become open
    items, its statement is taken in, and a person picks the right candidate of each
    suggestion, after the statement (the pure year picks it at once). `differ`: entries
    decided otherwise than by `reconcile_statement` in memory with every open item."""
    suppliers = set(year_suppliers(year))
    db = database(folder, "year.db", year)
    tally = Tally()
    result = StorageYear(tally=tally, seconds=0.0, statements=0)
    settings = ReconciliationSettings()
    registered: dict[int, OpenItem] = {}
    settled: set[int] = set()
    months = sorted({(e.booking_date.year, e.booking_date.month) for e, _ in year.entries})
    try:
        for k, (y, m) in enumerate(months):
            end = date(y + m // 12, m % 12 + 1, 1)
            new = [
                stored(d, suppliers)
                for d in year.documents
                if d.document_id not in registered and year.written[d.document_id] < end
            ]
            registered.update((d.document_id, d) for d in new)
            month = [
                (e, t)
                for e, t in year.entries
                if (e.booking_date.year, e.booking_date.month) == (y, m)
            ]
            document_id = STATEMENT_IDS + k
            open_now = [d for i, d in registered.items() if i not in settled]
            expected = reconcile_statement(
                [e for e, _ in month], index_open_items(open_now), RULES, settings
            )
            with db.session() as session:
                insert_open_items(session, new, suppliers, random.Random(k))
            with db.session() as session:
                client = get_client(session, CLIENT)
                assert client is not None
                t0 = time.perf_counter()
                take_in_statements(
                    session,
                    client,
                    document_id,
                    [bank_statement([e for e, _ in month], f"M{k}")],
                    end,
                )
                result.seconds += time.perf_counter() - t0
                result.statements += 1
            with db.session() as session:
                outcomes = stored_outcomes(session, document_id)
                ids = [row.id for row, _ in outcomes]
                tasks: dict[int, list[str]] = {}
                for transaction_id, kind in session.execute(
                    select(TaskRow.transaction_id, TaskRow.kind).where(
                        TaskRow.transaction_id.in_(ids)
                    )
                ):
                    tasks.setdefault(transaction_id, []).append(kind)
                picked: list[tuple[int, frozenset[int]]] = []
                for (entry, truth), (row, outcome), pure in zip(
                    month, outcomes, expected, strict=True
                ):
                    count(tally, entry, truth, outcome)
                    result.differ += decided(outcome) != decided(pure)
                    settled.update(m.document_id for m in outcome.matches)
                    kinds = tasks.get(row.id, [])
                    result.extra_tasks += len(kinds) > 1
                    if not truth.documents and not truth.rule and entry.amount < 0:
                        result.missing_debits += 1
                        result.missing_one_task += kinds == [TaskKind.MISSING_DOCUMENT.value]
                    offered = {s.document_id for s in outcome.suggestions}
                    if outcome.status is MatchStatus.AMBIGUOUS and truth.documents <= offered:
                        picked.append((row.id, truth.documents))  # the person works the task
                        settled |= truth.documents
                for transaction_id, documents in picked:
                    open_items.mark_paid(session, CLIENT, documents, by=transaction_id)
    finally:
        db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--statement", type=int, default=200, help="entries per statement")
    parser.add_argument("--naive-entries", type=int, default=40, help="entries timed naively")
    parser.add_argument("--invoices", type=int, default=80, help="supplier invoices a month")
    parser.add_argument("--cards", type=int, default=45, help="card lines a month")
    parser.add_argument("--customers", type=int, default=30, help="customer invoices a month")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--show", action="store_true", help="print wrong and missed entries")
    parser.add_argument(
        "--no-storage", action="store_true", help="skip the year and statements through SQLite"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    year = generate(args.seed, args.invoices, args.cards, args.customers)
    generated = time.perf_counter() - t0
    settings = ReconciliationSettings()
    t0 = time.perf_counter()
    tally = reconcile_year(year, settings)
    spent = time.perf_counter() - t0
    auto = tally.right / tally.with_document
    precision = tally.right / tally.matched if tally.matched else 1.0
    print(
        f"reconciliation, one client's year: {tally.entries} entries, "
        f"{len(year.documents)} documents (generated in {generated:.1f} s, "
        f"reconciled in {spent:.1f} s)"
    )
    print(f"  entries with a document    {tally.with_document:>5}")
    print(f"    auto-matched, right      {tally.right:>5}  {auto:7.2%}  (target {TARGET_AUTO:.0%})")
    print(f"    matched wrongly          {tally.wrong:>5}")
    print(f"    suggested (ambiguous)    {tally.ambiguous_with_document:>5}")
    print(f"    not found                {tally.missed:>5}")
    rules = ", ".join(f"{k} {v}" for k, v in sorted(tally.by_rule.items()))
    print(f"    right, by rule           {rules}")
    print(f"  precision of matches       {precision:7.2%}  (target {TARGET_PRECISION:.1%})")
    print(f"  entries of posting rules   {tally.rule_entries:>5}  right {tally.rule_right}")
    print(
        f"  entries without document or rule {tally.nothing_entries:>5}  "
        f"missing_document/unmatched {tally.nothing_right}  "
        f"suggested {tally.nothing_suggested}"
    )
    print("  statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.statuses.items())))
    if args.show:
        for line in tally.samples:
            print("   ", line)
    sys.stdout.flush()

    sizes = [int(s) for s in args.sizes.split(",")]
    timings = time_statements(year, sizes, args.statement, args.naive_entries, args.seed)
    print(
        f"\none statement of {args.statement} entries (naive: {args.naive_entries} entries, scaled)"
    )
    columns = ("open items", 10), ("ms/stmt", 8), ("cpu ms", 7), ("us/entry", 8)
    columns += ("index ms", 8), ("naive ms", 9), ("naive/idx", 9), ("same", 4)
    print(" ".join(f"{name:>{width}}" for name, width in columns))
    for t in timings:
        print(
            f"{t['size']:>10} {t['ms']:>8.1f} {t['cpu_ms']:>7.1f} {t['per_entry_us']:>8.0f} "
            f"{t['build_ms']:>8.0f} {t['naive_ms']:>9.0f} {t['naive_ms'] / t['ms']:>9.1f} "
            f"{'yes' if t['same'] else 'NO':>4}"
        )
    flat = timings[-1]["ms"] / timings[0]["ms"] if timings else 1.0
    ok = auto >= TARGET_AUTO and precision >= TARGET_PRECISION
    stored_figures = ""
    if not args.no_storage:
        sys.stdout.flush()
        with tempfile.TemporaryDirectory(prefix="fiduflow-reconcile-bench-") as folder:
            through = storage_year(Path(folder), year)
            stimings = time_storage(Path(folder), year, sizes, args.statement, args.seed)
        st = through.tally
        sauto = st.right / st.with_document
        sprecision = st.right / st.matched if st.matched else 1.0
        print(
            f"\nthrough storage (SQLite, take_in_statements), the year: {st.entries} entries in "
            f"{through.statements} statements, {through.seconds:.1f} s "
            f"({through.seconds / max(1, through.statements) * 1000:.0f} ms a statement)"
        )
        print(f"  entries with a document    {st.with_document:>5}")
        print(
            f"    auto-matched, right      {st.right:>5}  {sauto:7.2%}  (target {TARGET_AUTO:.0%})"
        )
        print(f"    matched wrongly          {st.wrong:>5}")
        print(f"    suggested (ambiguous)    {st.ambiguous_with_document:>5}")
        print(f"    not found                {st.missed:>5}")
        print(f"  precision of matches       {sprecision:7.2%}  (target {TARGET_PRECISION:.1%})")
        print(f"  entries of posting rules   {st.rule_entries:>5}  right {st.rule_right}")
        print(
            f"  debits without document or rule {through.missing_debits:>5}  "
            f"with exactly one missing_document task {through.missing_one_task}; "
            f"transactions with more than one task {through.extra_tasks}"
        )
        print(
            f"  decided otherwise than in memory with every open item: {through.differ} "
            "(a suggestion's pick comes after the statement here)"
        )
        print("  statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(st.statuses.items())))
        if args.show:
            for line in st.samples:
                print("   ", line)
        print(
            f"\none statement of {args.statement} entries through storage "
            f"(median of {STORAGE_REPEAT}, rolled back; lookup = candidates_for alone)"
        )
        columns = ("open items", 10), ("ms/stmt", 8), ("cpu ms", 7), ("us/entry", 8)
        columns += ("lookup ms", 9), ("candidates", 10), ("same", 4)
        print(" ".join(f"{name:>{width}}" for name, width in columns))
        for t in stimings:
            print(
                f"{t['size']:>10} {t['ms']:>8.1f} {t['cpu_ms']:>7.1f} {t['per_entry_us']:>8.0f} "
                f"{t['lookup_ms']:>9.1f} {t['candidates']:>10} {'yes' if t['same'] else 'NO':>4}"
            )
        sflat = stimings[-1]["ms"] / stimings[0]["ms"] if stimings else 1.0
        at_1k = [t for t in stimings if t["size"] == 1000 and stimings[-1]["size"] > 1000]
        sflat_1k = (
            f" storage_flat_ratio_1k={stimings[-1]['ms'] / at_1k[0]['ms']:.2f}" if at_1k else ""
        )
        ok = ok and sauto >= TARGET_AUTO and sprecision >= TARGET_PRECISION
        stored_figures = (
            " "
            + " ".join(f"storage_ms@{t['size']}={t['ms']:.1f}" for t in stimings)
            + f" storage_flat_ratio={sflat:.2f}{sflat_1k} storage_auto={sauto:.4f} "
            f"storage_precision={sprecision:.4f} storage_wrong={st.wrong} "
            f"storage_missing_ok={through.missing_one_task}/{through.missing_debits} "
            f"storage_same={sum(t['same'] for t in stimings)}/{len(stimings)} "
            f"storage_year_differ={through.differ}"
        )
    figures = " ".join(f"ms@{t['size']}={t['ms']:.1f}" for t in timings)
    naive = " ".join(f"naive_ratio@{t['size']}={t['naive_ms'] / t['ms']:.1f}" for t in timings)
    print(
        f"targets auto>={TARGET_AUTO:.0%} precision>={TARGET_PRECISION:.1%}: "
        f"{'met' if ok else 'NOT met'}; entries={tally.entries} auto={auto:.4f} "
        f"precision={precision:.4f} wrong={tally.wrong} "
        f"missing_ok={tally.nothing_right}/{tally.nothing_entries} "
        f"rules_ok={tally.rule_right}/{tally.rule_entries} {figures} "
        f"flat_ratio={flat:.2f} {naive}{stored_figures}"
    )


if __name__ == "__main__":
    main()
