"""Bank statements (Kontoauszug) and payslips (Lohnabrechnung)."""

from __future__ import annotations

import calendar
import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from .catalog import PROVIDER_NAMES
from .drafts import CREATORS, Draft, pdf_document, safe_filename
from .identities import (
    _house_no,
    ahv_number,
    qrr_reference,
    random_client_company,
    random_company,
    random_person,
    random_private_person,
    swiss_iban,
)
from .invoices import Ctx, letterhead, make_ctx, window_lines
from .layouts import BusinessDoc, Column, TotalRow, fit_columns, render_business_doc
from .model import Company, GeneratedDocument, Rng, Truth, resolve_rng
from .pdfkit import HELVETICA, TIMES, VERA
from .places import STREETS, SWISS_PLACES
from .swiss_formats import MONTHS, format_iban, format_qrr, money, round05

ZERO = Decimal("0.00")

# --- bank statement -----------------------------------------------------------

STATEMENT_WORDS = {
    "de": {
        "title": ("Kontoauszug", "Bankauszug", "Kontoauszug"),
        "account": "Konto",
        "period": "Periode",
        "currency": "Währung",
        "cols": "Datum|Text|Valuta|Belastung|Gutschrift|Saldo",
        "opening": "Saldovortrag",
        "closing": "Schlusssaldo",
        "total_debit": "Total Belastungen",
        "total_credit": "Total Gutschriften",
        "holder": "Kontoinhaber",
        "page": "Seite {i}/{n}",
        "stmt_no": "Auszug Nr.",
    },
    "fr": {
        "title": ("Relevé de compte", "Extrait de compte"),
        "account": "Compte",
        "period": "Période",
        "currency": "Monnaie",
        "cols": "Date|Texte|Valeur|Débit|Crédit|Solde",
        "opening": "Solde reporté",
        "closing": "Solde final",
        "total_debit": "Total débits",
        "total_credit": "Total crédits",
        "holder": "Titulaire",
        "page": "Page {i}/{n}",
        "stmt_no": "Extrait n°",
    },
    "it": {
        "title": ("Estratto conto",),
        "account": "Conto",
        "period": "Periodo",
        "currency": "Valuta",
        "cols": "Data|Testo|Valuta|Addebito|Accredito|Saldo",
        "opening": "Saldo riportato",
        "closing": "Saldo finale",
        "total_debit": "Totale addebiti",
        "total_credit": "Totale accrediti",
        "holder": "Titolare",
        "page": "Pagina {i}/{n}",
        "stmt_no": "Estratto n.",
    },
    "en": {
        "title": ("Account statement",),
        "account": "Account",
        "period": "Period",
        "currency": "Currency",
        "cols": "Date|Text|Value|Debit|Credit|Balance",
        "opening": "Opening balance",
        "closing": "Closing balance",
        "total_debit": "Total debits",
        "total_credit": "Total credits",
        "holder": "Account holder",
        "page": "Page {i}/{n}",
        "stmt_no": "Statement no.",
    },
}
TX_TEXTS = {
    "qr_payment": {
        "de": "Zahlung QR-Rechnung {name}",
        "fr": "Paiement facture QR {name}",
        "it": "Pagamento fattura QR {name}",
        "en": "QR bill payment {name}",
    },
    "order": {
        "de": "E-Banking Auftrag {name}",
        "fr": "Ordre e-banking {name}",
        "it": "Ordine e-banking {name}",
        "en": "E-banking order {name}",
    },
    "rent": {
        "de": "Dauerauftrag Miete {name}",
        "fr": "Ordre permanent loyer {name}",
        "it": "Ordine permanente affitto {name}",
        "en": "Standing order rent {name}",
    },
    "direct_debit": {
        "de": "Lastschrift {name}",
        "fr": "Prélèvement {name}",
        "it": "Addebito diretto {name}",
        "en": "Direct debit {name}",
    },
    "card": {
        "de": "Kartenzahlung {name}",
        "fr": "Paiement carte {name}",
        "it": "Pagamento carta {name}",
        "en": "Card payment {name}",
    },
    "salary": {
        "de": "Lohnzahlung {name}",
        "fr": "Versement salaire {name}",
        "it": "Pagamento salario {name}",
        "en": "Salary payment {name}",
    },
    "incoming": {
        "de": "Gutschrift {name}",
        "fr": "Crédit {name}",
        "it": "Accredito {name}",
        "en": "Credit {name}",
    },
    "incoming_qr": {
        "de": "Zahlungseingang QR-Referenz {name}",
        "fr": "Versement référence QR {name}",
        "it": "Entrata pagamento riferimento QR {name}",
        "en": "Incoming QR reference payment {name}",
    },
    "twint": {
        "de": "TWINT Gutschrift",
        "fr": "Crédit TWINT",
        "it": "Accredito TWINT",
        "en": "TWINT credit",
    },
    "fees": {
        "de": "Kontoführungsgebühr",
        "fr": "Frais de tenue de compte",
        "it": "Spese di tenuta conto",
        "en": "Account fee",
    },
}


def _month_period(d: date) -> tuple[date, date]:
    last = calendar.monthrange(d.year, d.month)[1]
    return date(d.year, d.month, 1), date(d.year, d.month, last)


def _bank_company(r: random.Random, holder: Company) -> Company:
    """The holder's own bank (its IBAN's institute), at a plausible address."""
    lang = holder.language if holder.language in ("de", "fr", "it") else "de"
    postcode, city, _, _ = r.choice([p for p in SWISS_PLACES if p[3] == lang])
    name = holder.bank_name or "PostFinance AG"
    if name.startswith("Raiffeisenbank") and not name.endswith("Genossenschaft"):
        name = f"{name} Genossenschaft"
    return Company(
        name=name,
        street=r.choice(STREETS[lang]),
        house_no=_house_no(r),
        postcode=postcode,
        city=city,
        country="CH",
        uid=None,
        iban=holder.iban,
        phone="+41 58 " + " ".join(str(r.randint(10, 99)) for _ in range(3)) + "0",
        email="",
        language=lang,
        trade="bank",
        vat_registered=False,
        bank_name=name,
        website="www." + "".join(ch for ch in name.lower().split()[0] if ch.isalpha()) + ".ch",
    )


def _transactions(
    r: random.Random, ctx: Ctx, start: date, end: date, count: int, opening: Decimal
) -> list[dict]:
    lang = ctx.language
    days = (end - start).days
    names = [random_company(r, "CH").name for _ in range(6)]
    kinds = ["qr_payment", "order", "direct_debit", "card", "incoming", "incoming_qr", "twint"]
    txs: list[dict] = []
    for _ in range(count):
        kind = r.choices(kinds, weights=(25, 12, 8, 15, 20, 12, 8))[0]
        booked = start + timedelta(days=r.randint(0, days))
        name = r.choice(names)
        if kind == "direct_debit":
            name = r.choice(PROVIDER_NAMES["telecom"])
        if kind == "card":
            name = (
                r.choice(
                    (
                        "Coop Pronto",
                        "Migrolino",
                        "Landi",
                        "SBB CFF FFS",
                        "Parkhaus City",
                        "Shell Tankstelle",
                    )
                )
                + f" {booked:%d.%m}"
            )
        sign = 1 if kind in ("incoming", "incoming_qr", "twint") else -1
        lo, hi = {"card": (8, 180), "twint": (15, 400), "direct_debit": (49, 260)}.get(
            kind, (120, 6500)
        )
        amount = money(Decimal(r.randint(lo * 100, hi * 100)) / Decimal(100))
        text = TX_TEXTS[kind][lang].format(name=name)
        ref = None
        if kind in ("qr_payment", "incoming_qr"):
            ref = qrr_reference(r)
            text += f", Ref. {format_qrr(ref)}" if r.random() < 0.6 else ""
        txs.append(
            {
                "booking_date": booked,
                "value_date": booked + timedelta(days=r.choice((0, 0, 0, 1))),
                "text": text,
                "amount": sign * amount,
                "reference": ref,
            }
        )
    txs.append(
        {
            "booking_date": start,
            "value_date": start,
            "text": TX_TEXTS["rent"][lang].format(name=r.choice(names)),
            "amount": -money(Decimal(r.randint(12, 60) * 100)),
            "reference": None,
        }
    )
    if r.random() < 0.6:
        day = min(end, start + timedelta(days=24))
        first, last, _ = random_person(r, lang if lang != "en" else "de")
        txs.append(
            {
                "booking_date": day,
                "value_date": day,
                "text": TX_TEXTS["salary"][lang].format(name=f"{first} {last}"),
                "amount": -money(Decimal(r.randint(4200, 9800))),
                "reference": None,
            }
        )
    txs.append(
        {
            "booking_date": end,
            "value_date": end,
            "text": TX_TEXTS["fees"][lang],
            "amount": -Decimal(r.choice(("3.00", "5.00", "7.50", "12.00"))),
            "reference": None,
        }
    )
    txs.sort(key=lambda t: (t["booking_date"], t["text"]))
    balance = opening
    for tx in txs:
        balance += tx["amount"]
        tx["balance"] = balance
    return txs


def bank_statement(
    rng: Rng,
    *,
    supplier: Company | None = None,
    recipient: Company | None = None,
    language: str | None = None,
    currency: str | None = None,
    vat_rates: tuple[Decimal, ...] | None = None,
    with_qr: bool | None = None,
    layout: int | None = None,
    issue_date: date | None = None,
    lines: int | None = None,
    total: Decimal | None = None,
    invoice_number: str | None = None,
) -> GeneratedDocument:
    """A monthly Kontoauszug of the client's bank account.

    Truth: `supplier_name` = the bank, `recipient_*` = the account holder (the client),
    `issue_date` = the statement date (period end), `total` = the CLOSING balance (may be
    negative), `vat` empty, `invoice_number` None; `extra` carries account_iban, period,
    opening/closing balance and every transaction (signed amount, running balance).
    `lines` = number of transactions; `total` forces the closing balance (via the opening
    balance). `vat_rates`, `with_qr` are accepted for a uniform signature and ignored.
    """
    del vat_rates, with_qr
    r, seed = resolve_rng(rng)
    holder = recipient or random_client_company(r)
    if not holder.iban:  # a hand-made holder without an account: give it one
        holder = replace(holder, iban=swiss_iban(r))
    bank = supplier or _bank_company(r, holder)
    ctx = make_ctx(
        r,
        bank,
        holder,
        language or (holder.language if holder.language in ("de", "fr", "it") else "de"),
        currency or "CHF",
        issue_date,
        layout,
        r.choice((HELVETICA, VERA, TIMES)),
    )
    words = STATEMENT_WORDS[ctx.language]
    start, end = _month_period(ctx.issue_date)
    count = lines if lines is not None else r.randint(5, 28)
    opening = money(Decimal(r.randint(-500, 90000)) + Decimal(r.randint(0, 99)) / 100)
    txs = _transactions(r, ctx, start, end, max(count - 2, 1), opening)
    if total is not None:  # choose the opening balance that ends on the forced closing one
        shift = money(total) - txs[-1]["balance"]
        opening += shift
        for tx in txs:
            tx["balance"] += shift
    closing = txs[-1]["balance"]
    n = ctx.money.number
    cols = words["cols"].split("|")
    widths = fit_columns([17, 67, 17, 21, 21, 23])
    columns = [
        Column(h, w, "right" if i >= 3 else "left")
        for i, (h, w) in enumerate(zip(cols, widths, strict=True))
    ]
    ds = "%d.%m.%y" if r.random() < 0.5 else "%d.%m.%Y"
    rows = [["", words["opening"], "", "", "", n(opening)]]
    for tx in txs:
        amount = tx["amount"]
        rows.append(
            [
                tx["booking_date"].strftime(ds),
                tx["text"],
                tx["value_date"].strftime(ds),
                n(-amount) if amount < 0 else "",
                n(amount) if amount > 0 else "",
                n(tx["balance"]),
            ]
        )
    debit = sum((-t["amount"] for t in txs if t["amount"] < 0), ZERO)
    credit = sum((t["amount"] for t in txs if t["amount"] > 0), ZERO)
    printed_closing = n(closing)
    rows.append([end.strftime(ds), words["closing"], "", "", "", printed_closing])
    head = letterhead(ctx, with_bank=False)
    window = window_lines(ctx, holder)
    statement_no = f"{end.year}/{end.month:02d}"
    title = r.choice(words["title"])
    doc = BusinessDoc(
        layout=ctx.layout,
        language=ctx.language,
        fonts=ctx.fonts,
        sender=bank,
        title=title,
        header_lines=head.header_lines,
        contact_lines=[*head.contact_lines[:1], *([bank.website] if bank.website else [])],
        window=window,
        place_date=None,
        meta=[
            (words["account"], format_iban(holder.iban)),
            (words["holder"], holder.name),
            (words["period"], f"{ctx.d(start)} – {ctx.d(end)}"),
            (words["currency"], ctx.currency),
            (words["stmt_no"], statement_no),
        ],
        columns=columns,
        rows=rows,
        bold_rows={0, len(rows) - 1},
        totals=[
            TotalRow(words["total_debit"], n(debit)),
            TotalRow(words["total_credit"], n(credit)),
            TotalRow(
                f"{words['closing']} {ctx.currency}", printed_closing, bold=True, rule_above=True
            ),
        ],
        page_label=words["page"],
        accent=ctx.accent,
        logo_shape=ctx.logo_shape,
        short_ref=f"{title} {format_iban(holder.iban)} {statement_no}",
    )
    truth = Truth(
        doc_type="bank_statement",
        language=ctx.language,
        supplier_name=bank.name,
        supplier_uid=None,
        supplier_iban=None,
        invoice_number=None,
        issue_date=end,
        due_date=None,
        currency=ctx.currency,
        total=closing,
        vat=[],
        has_qr=False,
        recipient_name=holder.name,
        recipient_address=window,
        supplier_address=head.address,
        printed={"total": printed_closing, "account": format_iban(holder.iban)},
        extra={
            "account_iban": holder.iban,
            "period_start": start,
            "period_end": end,
            "opening_balance": opening,
            "closing_balance": closing,
            "transactions": txs,
        },
    )
    draft = Draft(
        truth=truth,
        filename=safe_filename(f"{title}_{end:%Y-%m}") + ".pdf",
        draw=lambda c: render_business_doc(c, doc),
        when=datetime.combine(end + timedelta(days=1), time(2, 15)),
        title=title,
        author=bank.name,
        creator="e-banking",
    )
    return pdf_document(draft, seed)


# --- payslip ------------------------------------------------------------------

PAYSLIP_WORDS = {
    "de": {
        "title": "Lohnabrechnung",
        "cols": "Lohnart|Basis|Satz|Betrag",
        "salary": "Monatslohn",
        "bonus": "Bonus",
        "thirteenth": "13. Monatslohn",
        "child": "Kinderzulage",
        "gross": "Bruttolohn",
        "ahv": "AHV/IV/EO",
        "alv": "ALV",
        "nbu": "NBUV",
        "ktg": "KTG",
        "bvg": "BVG (Pensionskasse)",
        "tax": "Quellensteuer",
        "deductions": "Total Abzüge",
        "net": "Nettolohn",
        "expenses": "Pauschalspesen",
        "payout": "Auszahlung",
        "emp_no": "Personal-Nr.",
        "ahv_no": "AHV-Nr.",
        "rate": "Beschäftigungsgrad",
        "paid": "Zahlungsdatum",
        "transfer": "Überweisung auf Konto",
    },
    "fr": {
        "title": "Décompte de salaire",
        "cols": "Genre de salaire|Base|Taux|Montant",
        "salary": "Salaire mensuel",
        "bonus": "Bonus",
        "thirteenth": "13e salaire",
        "child": "Allocation pour enfant",
        "gross": "Salaire brut",
        "ahv": "AVS/AI/APG",
        "alv": "AC",
        "nbu": "AANP",
        "ktg": "IJM",
        "bvg": "LPP (caisse de pension)",
        "tax": "Impôt à la source",
        "deductions": "Total des déductions",
        "net": "Salaire net",
        "expenses": "Frais forfaitaires",
        "payout": "Versement",
        "emp_no": "N° personnel",
        "ahv_no": "N° AVS",
        "rate": "Taux d'occupation",
        "paid": "Date de paiement",
        "transfer": "Virement sur le compte",
    },
    "it": {
        "title": "Conteggio salariale",
        "cols": "Genere di salario|Base|Tasso|Importo",
        "salary": "Salario mensile",
        "bonus": "Bonus",
        "thirteenth": "13a mensilità",
        "child": "Assegno per figli",
        "gross": "Salario lordo",
        "ahv": "AVS/AI/IPG",
        "alv": "AD",
        "nbu": "AINP",
        "ktg": "IGM",
        "bvg": "LPP (cassa pensione)",
        "tax": "Imposta alla fonte",
        "deductions": "Totale deduzioni",
        "net": "Salario netto",
        "expenses": "Spese forfettarie",
        "payout": "Pagamento",
        "emp_no": "N. personale",
        "ahv_no": "N. AVS",
        "rate": "Grado d'occupazione",
        "paid": "Data di pagamento",
        "transfer": "Bonifico sul conto",
    },
    "en": {
        "title": "Payslip",
        "cols": "Wage type|Basis|Rate|Amount",
        "salary": "Monthly salary",
        "bonus": "Bonus",
        "thirteenth": "13th month salary",
        "child": "Child allowance",
        "gross": "Gross salary",
        "ahv": "AHV/IV/EO",
        "alv": "ALV",
        "nbu": "NBU insurance",
        "ktg": "Daily sickness insurance",
        "bvg": "BVG (pension fund)",
        "tax": "Withholding tax",
        "deductions": "Total deductions",
        "net": "Net salary",
        "expenses": "Lump-sum expenses",
        "payout": "Payout",
        "emp_no": "Employee no.",
        "ahv_no": "AHV no.",
        "rate": "Employment level",
        "paid": "Payment date",
        "transfer": "Transfer to account",
    },
}
AHV_RATE = Decimal("5.3")  # employee share AHV/IV/EO since 2021
ALV_RATE = Decimal("1.1")
ALV_MONTHLY_CAP = Decimal("12350")  # CHF 148'200 a year


def payslip(
    rng: Rng,
    *,
    supplier: Company | None = None,
    recipient: Company | None = None,
    language: str | None = None,
    currency: str | None = None,
    vat_rates: tuple[Decimal, ...] | None = None,
    with_qr: bool | None = None,
    layout: int | None = None,
    issue_date: date | None = None,
    lines: int | None = None,
    total: Decimal | None = None,
    invoice_number: str | None = None,
) -> GeneratedDocument:
    """A monthly Lohnabrechnung from the client (employer) to one employee.

    Truth: `supplier_*` = the employer (the client), `recipient_*` = the employee,
    `issue_date` = payment date, `total` = the amount paid out (net salary + expenses),
    `vat` empty; `extra` has period, gross, deductions, net and the AHV number.
    `total`, `lines`, `vat_rates`, `with_qr`, `invoice_number` are ignored.
    """
    del vat_rates, with_qr, lines, total, invoice_number
    r, seed = resolve_rng(rng)
    employer = supplier or random_client_company(r)
    lang = language or (employer.language if employer.language in ("de", "fr", "it") else "de")
    employee = recipient or random_private_person(r, lang if lang != "en" else "de")
    ctx = make_ctx(r, employer, employee, lang, currency or "CHF", issue_date, layout)
    w = PAYSLIP_WORDS[ctx.language]
    period_end = _month_period(ctx.issue_date)[1]
    paid = min(period_end, date(period_end.year, period_end.month, 25))
    salary = Decimal(r.randint(90, 240) * 50)
    rows: list[list[str]] = []
    lines_data: list[dict] = []
    n = ctx.money.number

    def add(label: str, basis: str, rate: str, amount: Decimal) -> None:
        rows.append([label, basis, rate, n(amount)])
        lines_data.append({"label": label, "amount": amount})

    add(w["salary"], "", "", salary)
    ahv_wage = salary
    if period_end.month == 12 and r.random() < 0.7:
        add(w["thirteenth"], "", "", salary)
        ahv_wage += salary
    elif r.random() < 0.1:
        bonus = Decimal(r.randint(5, 40) * 100)
        add(w["bonus"], "", "", bonus)
        ahv_wage += bonus
    children = r.choices((0, 1, 2), weights=(55, 25, 20))[0]
    allowance = Decimal(215 * children)
    if children:
        add(w["child"], str(children), "215.00", allowance)
    gross = ahv_wage + allowance
    rows.append([w["gross"], "", "", n(gross)])
    gross_row = len(rows) - 1

    def pct(base: Decimal, rate: Decimal) -> Decimal:
        return round05(base * rate / Decimal(100))  # payroll rounds to 5 Rappen

    deductions = []
    nbu_rate = Decimal(r.randint(60, 160)) / Decimal(100)
    ktg_rate = Decimal(r.randint(20, 80)) / Decimal(100)
    alv_base = min(ahv_wage, ALV_MONTHLY_CAP)
    for label, base, rate in (
        (w["ahv"], ahv_wage, AHV_RATE),
        (w["alv"], alv_base, ALV_RATE),
        (w["nbu"], ahv_wage, nbu_rate),
        (w["ktg"], ahv_wage, ktg_rate),
    ):
        amount = pct(base, rate)
        deductions.append({"label": label, "base": base, "rate": rate, "amount": amount})
        rows.append([label, n(base), f"{rate:.2f}%", n(-amount)])
    bvg = round05(salary * Decimal(r.randint(30, 90)) / Decimal(1000))
    deductions.append({"label": w["bvg"], "base": None, "rate": None, "amount": bvg})
    rows.append([w["bvg"], "", "", n(-bvg)])
    if r.random() < 0.15:
        tax_rate = Decimal(r.randint(40, 140)) / Decimal(10)
        tax = pct(gross, tax_rate)
        deductions.append({"label": w["tax"], "base": gross, "rate": tax_rate, "amount": tax})
        rows.append([w["tax"], n(gross), f"{tax_rate:.2f}%", n(-tax)])
    total_deductions = sum((d["amount"] for d in deductions), ZERO)
    rows.append([w["deductions"], "", "", n(-total_deductions)])
    net = gross - total_deductions
    rows.append([w["net"], "", "", n(net)])
    net_row = len(rows) - 1
    expenses = Decimal(r.choice((0, 0, 0, 150, 200, 300)))
    if expenses:
        rows.append([w["expenses"], "", "", n(expenses)])
    payout = money(net + expenses)
    printed_payout = ctx.amount(payout, currency=True)
    columns = [
        Column(h, wd, "left" if i == 0 else "right")
        for i, (h, wd) in enumerate(
            zip(w["cols"].split("|"), fit_columns([80, 30, 20, 36]), strict=True)
        )
    ]
    head = letterhead(ctx, with_bank=False)
    window = window_lines(ctx, employee)
    month = f"{MONTHS[ctx.language][period_end.month - 1]} {period_end.year}"
    title = f"{w['title']} {month}"
    doc = BusinessDoc(
        layout=ctx.layout,
        language=ctx.language,
        fonts=ctx.fonts,
        sender=employer,
        title=title,
        header_lines=head.header_lines,
        contact_lines=head.contact_lines[:1],
        window=window,
        meta=[
            (w["emp_no"], str(r.randint(100, 999))),
            (w["ahv_no"], ahv_number(r)),
            (w["rate"], r.choice(("100%", "100%", "80%", "60%"))),
            (w["paid"], ctx.d(paid)),
        ],
        columns=columns,
        rows=rows,
        bold_rows={gross_row, net_row},
        totals=[TotalRow(w["payout"], printed_payout, bold=True, rule_above=True)],
        outro=[f"{w['transfer']} IBAN {format_iban(employee.iban)}"] if employee.iban else [],
        page_label="{i}/{n}",
        accent=ctx.accent,
        logo_shape=ctx.logo_shape,
        short_ref=title,
    )
    truth = Truth(
        doc_type="payslip",
        language=ctx.language,
        supplier_name=employer.name,
        supplier_uid=None,
        supplier_iban=None,
        invoice_number=None,
        issue_date=paid,
        due_date=None,
        currency=ctx.currency,
        total=payout,
        vat=[],
        has_qr=False,
        recipient_name=employee.name,
        recipient_address=window,
        supplier_address=head.address,
        printed={"total": printed_payout, "issue_date": ctx.d(paid)},
        extra={
            "period": f"{period_end:%Y-%m}",
            "gross": gross,
            "ahv_wage": ahv_wage,
            "deductions": deductions,
            "net": net,
            "expenses": expenses,
            "employee_iban": employee.iban,
            "ahv_number": doc.meta[1][1],
        },
    )
    draft = Draft(
        truth=truth,
        filename=safe_filename(f"{w['title']}_{period_end:%Y_%m}_{employee.name.split()[-1]}")
        + ".pdf",
        draw=lambda c: render_business_doc(c, doc),
        when=datetime.combine(paid, time(16, 5)),
        title=title,
        author=employer.name,
        creator=r.choice(CREATORS),
    )
    return pdf_document(draft, seed)
