"""Invoices and their relatives: supplier invoice, customer invoice, credit note, reminder.

All random choices are made first (into strings and Decimals); drawing is pure. Money is
Decimal throughout and the arithmetic printed is exact: per VAT rate, net + VAT = gross,
and the total is the sum of the gross amounts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from reportlab.lib.colors import Color

from . import words
from .catalog import TRADES, UNITS, Item
from .drafts import CREATORS, Draft, pdf_document, safe_filename
from .identities import (
    qrr_reference,
    random_client_company,
    random_company,
    random_person,
    random_private_person,
    scor_reference,
)
from .layouts import ACCENTS, BusinessDoc, Column, TotalRow, fit_columns, render_business_doc
from .model import COUNTRY_NAMES, Company, DocType, GeneratedDocument, Rng, Truth, resolve_rng
from .pdfkit import HELVETICA, TIMES, VERA, FontSet
from .qr_part import QrBillSpec, swico_s1
from .swiss_formats import (
    MoneyStyle,
    eu_money_style,
    format_date,
    format_iban,
    format_rate,
    money,
    pick_date_style,
    place_and_date,
    swiss_money_style,
    vat_number,
    vat_rate,
)

EU_COUNTRIES = ("DE", "AT", "FR", "IT")
ZERO = Decimal("0.00")


# --- small random helpers -----------------------------------------------------


def random_issue_date(r: random.Random) -> date:
    """Mostly the last twelve months, some older ones (with the 7.7 % rates of 2018-2023)."""
    p = r.random()
    if p < 0.80:
        start, end = date(2025, 11, 1), date(2026, 10, 31)
    elif p < 0.95:
        start, end = date(2024, 1, 1), date(2025, 10, 31)
    else:
        start, end = date(2022, 6, 1), date(2023, 12, 31)
    return start + timedelta(days=r.randrange((end - start).days + 1))


def random_invoice_number(r: random.Random, d: date, prefix: str = "") -> str:
    n = r.randint(12, 4800)
    yy = d.year % 100
    style = r.randrange(8)
    if style == 0:
        number = f"{d.year}-{n:04d}"
    elif style == 1:
        number = f"RE-{yy}-{n:05d}"
    elif style == 2:
        number = str(r.randint(100000, 989999))
    elif style == 3:
        number = f"F{d.year}/{n:04d}"  # a slash: S1 must escape it
    elif style == 4:
        number = f"INV-{d.year}-{n:03d}"
    elif style == 5:
        number = f"R{yy}{n:04d}"
    elif style == 6:
        number = f"{d.year}{n:05d}"
    else:
        number = f"{r.randint(10, 99)}.{n:04d}"
    return f"{prefix}{number}" if prefix else number


def _price(r: random.Random, item: Item) -> Decimal:
    lo, hi = item.lo, item.hi
    if item.price_places == 4:
        return Decimal(r.randint(int(lo * 10000), int(hi * 10000))) / Decimal(10000)
    if lo >= 100:  # hourly rates and bigger goods: whole francs, mostly multiples of 5
        step = Decimal(5) if r.random() < 0.8 else Decimal(1)
    elif lo >= 10:
        step = Decimal("0.50") if r.random() < 0.6 else Decimal("0.10")
    else:
        step = Decimal("0.05")
    steps = int((hi - lo) / step)
    return money(lo + step * r.randint(0, max(steps, 0)))


def _qty(r: random.Random, item: Item) -> Decimal:
    lo, hi = item.qty
    if item.unit == "h":
        return Decimal(r.randint(lo * 4, hi * 4)) / Decimal(4)
    if item.unit in ("l", "m2") and r.random() < 0.3:
        return Decimal(r.randint(lo * 10, hi * 10)) / Decimal(10)
    return Decimal(r.randint(lo, hi))


# --- the invoice as data ------------------------------------------------------


@dataclass
class Line:
    description: str
    qty: Decimal
    unit: str  # printed unit
    unit_price: Decimal
    amount: Decimal  # qty x unit price; net unless the invoice prices include VAT
    rate: Decimal | None  # VAT rate, None when no VAT applies
    unit_code: str = "C62"  # UN/ECE rec. 20 for the e-invoice XML
    price_places: int = 2


UNIT_CODES = {
    "h": "HUR",
    "pc": "C62",
    "m": "MTR",
    "m2": "MTK",
    "flat": "C62",
    "kg": "KGM",
    "l": "LTR",
    "night": "DAY",
    "month": "MON",
    "kwh": "KWH",
}


@dataclass
class InvoiceData:
    """Everything printed on an invoice, also what the Factur-X/UBL XML needs."""

    doc_type: DocType
    language: str
    currency: str
    supplier: Company
    recipient: Company
    number: str
    issue_date: date
    due_date: date | None
    delivery_date: date | None
    lines: list[Line]
    vat: list[dict[str, Decimal]]  # {rate, base, amount}, base = net
    net_total: Decimal
    total: Decimal
    vat_included: bool = False  # prices on the lines include VAT
    terms_text: str | None = None
    terms: list[tuple[Decimal, int]] = field(default_factory=list)  # (discount %, days)
    reference: str | None = None
    account: str | None = None  # the IBAN to pay to (QR-IBAN with a QRR reference)
    has_qr: bool = False
    customer_no: str | None = None
    buyer_reference: str | None = None


def summarize_vat(lines: list[Line], vat_included: bool) -> list[dict[str, Decimal]]:
    """Per rate: base (net), amount. Exact: base + amount = the rate's gross."""
    by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        if line.rate is not None:
            by_rate[line.rate] = by_rate.get(line.rate, ZERO) + line.amount
    out = []
    for rate in sorted(by_rate, reverse=True):
        subtotal = by_rate[rate]
        if vat_included:
            amount = money(subtotal * rate / (Decimal(100) + rate))
            base = subtotal - amount
        else:
            base = subtotal
            amount = money(base * rate / Decimal(100))
        out.append({"rate": rate, "base": money(base), "amount": amount})
    return out


def invoice_totals(
    lines: list[Line], vat: list[dict[str, Decimal]], vat_included: bool
) -> tuple[Decimal, Decimal]:
    """(net total, gross total)."""
    lines_sum = sum((line.amount for line in lines), ZERO)
    vat_sum = sum((v["amount"] for v in vat), ZERO)
    if vat_included:
        return money(lines_sum - vat_sum), money(lines_sum)
    return money(lines_sum), money(lines_sum + vat_sum)


# --- context: the look and language of one document ---------------------------


@dataclass
class Ctx:
    r: random.Random
    supplier: Company
    recipient: Company
    language: str
    currency: str
    issue_date: date
    layout: int
    money: MoneyStyle
    date_style: str
    fonts: FontSet
    accent: Color
    logo_shape: int

    @property
    def eu(self) -> bool:
        return self.supplier.country in EU_COUNTRIES

    def w(self, key: str) -> str:
        return words.pick(self.r, key, self.language, eu=self.eu)

    def d(self, value: date) -> str:
        return format_date(value, self.language, self.date_style)

    def amount(self, value: Decimal, currency: bool = False) -> str:
        return self.money.amount(value, currency=currency)

    def rate(self, rate: Decimal) -> str:
        return format_rate(rate, self.money.decimal)


def make_ctx(
    r: random.Random,
    supplier: Company,
    recipient: Company,
    language: str | None,
    currency: str | None,
    issue_date: date | None,
    layout: int | None,
    fonts: FontSet | None = None,
) -> Ctx:
    if language is None:
        trade = TRADES.get(trade_of(supplier))
        en_share = trade.en_share if trade else 0.0
        language = "en" if r.random() < en_share else supplier.language
    if currency is None:
        if supplier.country in EU_COUNTRIES:
            currency = "EUR"
        else:
            currency = "EUR" if r.random() < 0.04 else "CHF"
    layout = r.randrange(4) if layout is None else layout % 4
    if supplier.country in EU_COUNTRIES:
        style = eu_money_style(r, supplier.country, currency)
        date_style = "dot" if supplier.country in ("DE", "AT") else "slash"
    else:
        style = swiss_money_style(r, currency)
        date_style = pick_date_style(r, language)
    if fonts is None:
        fonts = (HELVETICA, r.choice((HELVETICA, VERA)), TIMES, VERA)[layout]
    return Ctx(
        r=r,
        supplier=supplier,
        recipient=recipient,
        language=language,
        currency=currency,
        issue_date=issue_date or random_issue_date(r),
        layout=layout,
        money=style,
        date_style=date_style,
        fonts=fonts,
        accent=r.choice(ACCENTS),
        logo_shape=r.randrange(3),
    )


# --- letterhead and window ----------------------------------------------------


@dataclass
class Letterhead:
    header_lines: list[str]
    contact_lines: list[str]
    id_lines: list[str]
    bank_lines: list[str]
    printed_uid: str | None  # the UID as the truth knows it, when printed
    printed_ids: str | None  # the id line as printed
    address: list[str]


def letterhead(ctx: Ctx, *, with_bank: bool = True) -> Letterhead:
    s, r = ctx.supplier, ctx.r
    header = [s.street_line, s.town_line]
    contact = []
    if s.phone:
        contact.append(f"{ctx.w('phone')} {s.phone}")
    if s.email:
        contact.append(f"{ctx.w('email')} {s.email}")
    if s.website and r.random() < 0.5:
        contact.append(s.website)
    ids: list[str] = []
    printed_uid = None
    if s.country in ("CH", "LI") and s.uid:
        if s.vat_registered:
            label = ctx.w("vat_no")
            if not label:
                ids.append(vat_number(s.uid, ctx.language))
            elif label in ("UID", "IDE", "IDI"):
                ids.append(f"{label}: {s.uid}" + (" MWST" if r.random() < 0.3 else ""))
            else:
                ids.append(f"{label} {vat_number(s.uid, ctx.language)}")
            printed_uid = s.uid
        elif r.random() < 0.5:
            ids.append(f"UID {s.uid}")
            printed_uid = s.uid
    elif s.eu_vat:
        label = {"DE": ("USt-IdNr.", "USt-ID"), "AT": ("UID-Nr.", "UID")}.get(s.country)
        ids.append(f"{r.choice(label) if label else ctx.w('eu_vat_no')} {s.eu_vat}")
    bank: list[str] = []
    if with_bank and s.iban:
        bank = [line for line in (s.bank_name, f"IBAN {format_iban(s.iban)}") if line]
        if s.country in EU_COUNTRIES:
            bank.append(
                "BIC "
                + {"DE": "SOLADES1KNZ", "AT": "RZBAAT2S", "FR": "CMCIFR2A", "IT": "BPMOIT22"}[
                    s.country
                ]
            )
    return Letterhead(
        header,
        contact,
        ids,
        bank,
        printed_uid,
        ids[0] if ids else None,
        [s.name, s.street_line, s.town_line],
    )


def window_lines(ctx: Ctx, recipient: Company) -> list[str]:
    """The address as it shows in the envelope window."""
    r = ctx.r
    lines: list[str] = []
    if recipient.trade == "private":
        lines = [recipient.contact or "", recipient.name] if recipient.contact else [recipient.name]
        lines = [line for line in lines if line]
    else:
        lines = [recipient.name]
        if recipient.contact and r.random() < 0.55:
            contact = recipient.contact
            lines.append(f"{ctx.w('attention')} {contact}" if r.random() < 0.6 else contact)
    lines += [recipient.street_line, recipient.town_line]
    if recipient.country != ctx.supplier.country:
        country = COUNTRY_NAMES[recipient.country]
        lines.append(country.upper() if r.random() < 0.3 else country)
    return lines


# --- line items ---------------------------------------------------------------


def trade_of(company: Company) -> str:
    """The company's trade key; for hand-made companies ("general") guessed from the name
    (a "Gloor Elektro AG" sells electrical work), else office supplies."""
    if company.trade in TRADES:
        return company.trade
    name = company.name.lower()
    for key, trade in TRADES.items():
        if any(word.lower() in name for word in trade.words.values()):
            return key
    return "buero"


def _fill_text(text: str, d: date) -> str:
    quarter = (d.month - 1) // 3 + 1
    year = d.year if d.month > 3 else d.year - 1
    return text.format(year=year, q=quarter if d.month > 3 else 4)


def make_lines(ctx: Ctx, count: int, rates: tuple[Decimal | None, ...] | None) -> list[Line]:
    """`count` line items from the supplier's trade; VAT rate by category and date unless
    `rates` forces them (first rate for most lines, the others for some)."""
    r = ctx.r
    trade = TRADES[trade_of(ctx.supplier)]
    items = list(trade.items)
    r.shuffle(items)
    lines: list[Line] = []
    used: dict[str, int] = {}
    for i in range(count):
        item = items[i % len(items)]
        text = _fill_text(item.text(ctx.language), ctx.issue_date)
        used[text] = used.get(text, 0) + 1
        if used[text] > 1:  # repeated work on several days, as on real service invoices
            day = ctx.issue_date - timedelta(days=r.randint(1, 40))
            text = f"{text}, {ctx.d(day)}"
        qty = _qty(r, item)
        price = _price(r, item)
        if rates is not None:  # every forced rate shows at least once, the first most often
            rate = (
                rates[i] if i < len(rates) else (rates[0] if r.random() < 0.7 else r.choice(rates))
            )
        elif not ctx.supplier.vat_registered:
            rate = None
        else:
            rate = vat_rate(ctx.supplier.country, item.cat, ctx.issue_date)
        lines.append(
            Line(
                description=text,
                qty=qty,
                unit=UNITS[item.unit][ctx.language],
                unit_price=price,
                amount=money(qty * price),
                rate=rate,
                unit_code=UNIT_CODES[item.unit],
                price_places=item.price_places,
            )
        )
    return lines


def _search_net(gross: Decimal, rate: Decimal) -> Decimal | None:
    """A net amount whose VAT, rounded to 0.01, makes exactly `gross`."""
    guess = money(gross * Decimal(100) / (Decimal(100) + rate))
    for delta in range(-3, 4):
        net = guess + Decimal(delta) / Decimal(100)
        if net + money(net * rate / Decimal(100)) == gross:
            return net
    return None


def _spread(lines: list[Line], target: Decimal) -> None:
    """Rescale the lines' amounts so they add up to `target` exactly."""
    current = sum((line.amount for line in lines), ZERO)
    running = ZERO
    for i, line in enumerate(lines):
        if i == len(lines) - 1:
            amount = target - running
        else:
            amount = (
                money(line.amount * target / current) if current else money(target / len(lines))
            )
        running += amount
        unit_price = money(amount / line.qty) if line.qty else amount
        if line.qty and unit_price * line.qty == amount and line.price_places == 2:
            line.unit_price = unit_price
        else:
            line.qty, line.unit_price, line.price_places = Decimal(1), amount, 2
        line.amount = amount


def force_total(lines: list[Line], total: Decimal) -> bool:
    """Make the lines add up to `total` incl. VAT; return True when prices must be
    printed VAT-inclusive (no net amount rounds exactly onto that total)."""
    groups: dict[Decimal | None, list[Line]] = {}
    for line in lines:
        groups.setdefault(line.rate, []).append(line)
    gross_now = {
        rate: sum((ln.amount for ln in group), ZERO) * (1 + (rate or 0) / Decimal(100))
        for rate, group in groups.items()
    }
    whole = sum(gross_now.values(), Decimal(0))
    targets: dict[Decimal | None, Decimal] = {}
    running = ZERO
    keys = list(groups)
    for i, rate in enumerate(keys):
        part = total - running if i == len(keys) - 1 else money(total * gross_now[rate] / whole)
        targets[rate] = part
        running += part
    nets: dict[Decimal | None, Decimal] = {}
    for rate, gross in targets.items():
        net = gross if rate is None else _search_net(gross, rate)
        if net is None:
            break
        nets[rate] = net
    else:
        for rate, group in groups.items():
            _spread(group, nets[rate])
        return False
    for rate, group in groups.items():  # VAT-inclusive pricing: lines carry gross amounts
        _spread(group, targets[rate])
    return True


# --- building the printed invoice ---------------------------------------------


def _qty_text(ctx: Ctx, qty: Decimal) -> str:
    if qty == qty.to_integral_value():
        n = int(qty)
        return ctx.money.number(Decimal(n), dash=False)[:-3] if n >= 1000 else str(n)
    return format(qty.normalize(), "f").replace(".", ctx.money.decimal)


def _price_text(ctx: Ctx, line: Line) -> str:
    if line.price_places == 4:
        return f"{line.unit_price:.4f}".replace(".", ctx.money.decimal)
    return ctx.money.number(line.unit_price)


def item_table(ctx: Ctx, lines: list[Line], sign: int = 1) -> tuple[list[Column], list[list[str]]]:
    r = ctx.r
    rates = {line.rate for line in lines if line.rate is not None}
    show_rate = len(rates) > 1 or (rates and r.random() < 0.15)
    variant = r.randrange(3)
    cols: list[tuple[str, float, str]] = []
    if variant != 1:
        cols.append((ctx.w("col_pos"), 10, "left"))
    cols.append((ctx.w("col_desc"), 70, "left"))
    cols.append((ctx.w("col_qty"), 15, "right"))
    if variant == 0:
        cols.append((ctx.w("col_unit"), 16, "left"))
    cols.append((ctx.w("col_price"), 22, "right"))
    if show_rate:
        cols.append((ctx.w("col_vat"), 14, "right"))
    cols.append(
        (ctx.w("col_amount") + (f" {ctx.currency}" if r.random() < 0.4 else ""), 25, "right")
    )
    widths = fit_columns([c[1] for c in cols])
    columns = [Column(c[0], wdt, c[2]) for c, wdt in zip(cols, widths, strict=True)]
    rows = []
    for i, line in enumerate(lines, start=1):
        row = []
        if variant != 1:
            row.append(str(i))
        row.append(line.description)
        row.append(_qty_text(ctx, line.qty))
        if variant == 0:
            row.append(line.unit)
        row.append(_price_text(ctx, line))
        if show_rate:
            row.append(f"{ctx.rate(line.rate)}%" if line.rate is not None else "–")
        row.append(ctx.money.number(sign * line.amount))
        rows.append(row)
    return columns, rows


def total_row(ctx: Ctx, label: str, value: Decimal) -> tuple[TotalRow, str]:
    """The bold total row; returns it and the value exactly as printed."""
    if ctx.r.random() < 0.5 and ctx.money.currency_first:
        printed = ctx.money.number(value)
        return TotalRow(f"{label} {ctx.money.currency}", printed, bold=True, rule_above=True), (
            printed
        )
    printed = ctx.amount(value, currency=True)
    return TotalRow(label, printed, bold=True, rule_above=True), printed


def vat_rows(ctx: Ctx, data: InvoiceData, sign: int = 1) -> list[TotalRow]:
    rows: list[TotalRow] = []
    if data.vat_included:
        for v in data.vat:
            word = words.first("vat_short", ctx.language, eu=ctx.eu)
            incl = {"de": "inkl.", "fr": "incl.", "it": "incl.", "en": "incl."}[ctx.language]
            rows.append(
                TotalRow(
                    f"{incl} {word} {ctx.rate(v['rate'])}% ({ctx.money.number(sign * v['base'])})",
                    ctx.money.number(sign * v["amount"]),
                )
            )
        return rows
    if data.vat:
        rows.append(TotalRow(ctx.w("subtotal"), ctx.money.number(sign * data.net_total)))
        template = ctx.w("vat_line")
        for v in data.vat:
            label = template.format(
                rate=ctx.rate(v["rate"]), base=ctx.money.number(sign * v["base"])
            )
            rows.append(TotalRow(label, ctx.money.number(sign * v["amount"])))
    return rows


def terms_sentence(ctx: Ctx, days: int, due: date, skonto: tuple[Decimal, int] | None) -> str:
    if skonto:
        return words.pick(ctx.r, "terms_skonto", ctx.language, eu=ctx.eu).format(
            sdays=skonto[1], pct=ctx.rate(skonto[0]), days=days
        )
    return ctx.w("terms").format(days=days, due=ctx.d(due))


def signature_block(ctx: Ctx) -> list[str]:
    if ctx.r.random() < 0.5:
        return []
    lang = ctx.supplier.language if ctx.supplier.language in ("de", "fr", "it") else "de"
    first, last, _ = random_person(ctx.r, lang)
    return [ctx.w("closing"), "", ctx.supplier.name, f"{first} {last}"]


@dataclass
class InvoiceDraft:
    draft: Draft
    data: InvoiceData
    doc: BusinessDoc
    ctx: Ctx


def build_invoice(
    r: random.Random,
    *,
    doc_type: DocType = "supplier_invoice",
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
    fonts: FontSet | None = None,
    net_prices: bool = False,
) -> InvoiceDraft:
    """Everything of an invoice; `net_prices` keeps line prices net of VAT (EN 16931 XML
    needs them), so a forced `total` that no net amount reaches raises ValueError."""
    if doc_type == "customer_invoice":
        supplier = supplier or random_client_company(r)
        if recipient is None:
            recipient = (
                random_private_person(r, supplier.language)
                if r.random() < 0.3
                else random_company(r, "CH", language=supplier.language)
            )
    else:
        if supplier is None:
            country = r.choices(("CH", "DE", "AT", "FR", "IT"), weights=(88, 6, 2, 2, 2))[0]
            if with_qr or currency == "CHF":
                country = "CH"
            supplier = random_company(r, country)
        recipient = recipient or random_client_company(r)
    ctx = make_ctx(r, supplier, recipient, language, currency, issue_date, layout, fonts)
    if with_qr is None:
        with_qr = supplier.country in ("CH", "LI") and bool(supplier.iban) and r.random() < 0.7
    if with_qr and (
        supplier.country not in ("CH", "LI")
        or not supplier.iban
        or ctx.currency not in ("CHF", "EUR")
    ):
        raise ValueError("a Swiss QR-bill needs a CH/LI supplier IBAN and CHF or EUR")

    count = (
        lines
        if lines is not None
        else r.choices((1, 2, 3, 4, 5, 6, 8, 12), weights=(18, 18, 18, 14, 10, 8, 8, 6))[0]
    )
    if total is not None and total < Decimal(20) * count:
        count = 1 if total < 40 else min(count, 2)
    rates = tuple(Decimal(x) for x in vat_rates) if vat_rates is not None else None
    if rates == ():
        rates = (None,)
    if rates and total is None:
        count = max(count, len(rates))
    item_lines = make_lines(ctx, max(count, 1), rates)
    vat_included = (
        supplier.country == "CH"
        and supplier.trade in ("baeckerei", "garage")
        and r.random() < 0.3
        and not net_prices
    )
    if total is not None:
        vat_included = force_total(item_lines, money(total))
        if vat_included and net_prices:
            raise ValueError(f"no net amount gives exactly {total} with these VAT rates")
    vat = summarize_vat(item_lines, vat_included)
    net_total, gross_total = invoice_totals(item_lines, vat, vat_included)
    if total is not None and gross_total != money(total):  # pragma: no cover - safety net
        raise AssertionError(f"forced total {total} came out as {gross_total}")

    days = r.choice((10, 20, 30, 30, 30, 30, 45, 60))
    skonto = (Decimal(2), 10) if r.random() < 0.1 else None
    if skonto:
        days = max(days, 30)  # the discount period is shorter than the net one
    due = ctx.issue_date + timedelta(days=days)
    number = invoice_number or random_invoice_number(r, ctx.issue_date)
    data = InvoiceData(
        doc_type=doc_type,
        language=ctx.language,
        currency=ctx.currency,
        supplier=supplier,
        recipient=recipient,
        number=number,
        issue_date=ctx.issue_date,
        due_date=due,
        delivery_date=ctx.issue_date - timedelta(days=r.randint(0, 20)),
        lines=item_lines,
        vat=vat,
        net_total=net_total,
        total=gross_total,
        vat_included=vat_included,
        terms=[skonto, (Decimal(0), days)] if skonto else [(Decimal(0), days)],
        customer_no=str(r.randint(10000, 99999)) if r.random() < 0.6 else None,
    )
    data.terms_text = terms_sentence(ctx, days, due, skonto)
    qr = _qr_spec(ctx, data) if with_qr else None
    return _assemble_invoice(ctx, data, qr)


def _qr_spec(ctx: Ctx, data: InvoiceData) -> QrBillSpec:
    r, s = ctx.r, data.supplier
    digits = "".join(ch for ch in data.number if ch.isdigit())
    if s.qr_iban and r.random() < 0.75:
        data.reference = qrr_reference(r, (data.customer_no or "") + digits.rjust(10, "0"))
        data.account = s.qr_iban
    else:
        data.reference = scor_reference(r, digits or None) if r.random() < 0.45 else None
        data.account = s.iban
    data.has_qr = True
    message = ""
    if r.random() < 0.6:
        message = words.pick(r, "qr_message", ctx.language).format(no=data.number)
    billing = ""
    if r.random() < 0.8:
        billing = swico_s1(
            data.number, data.issue_date, s.uid if s.vat_registered else None, data.vat, data.terms
        )
        if len(message) + len(billing) > 140:
            message = ""
        if len(billing) > 140:
            billing = ""
    return QrBillSpec(
        language=ctx.language,
        account=data.account,
        creditor=s,
        amount=data.total,
        currency=data.currency,
        debtor=data.recipient,
        reference=data.reference,
        message=message,
        billing=billing,
    )


def _assemble_invoice(ctx: Ctx, data: InvoiceData, qr: QrBillSpec | None) -> InvoiceDraft:
    r = ctx.r
    head = letterhead(ctx)
    window = window_lines(ctx, data.recipient)
    trade = data.supplier.trade
    title_key = {
        "treuhand": "fee_invoice_title",
        "architektur": "fee_invoice_title",
        "versicherung": "premium_invoice_title",
    }.get(trade, "invoice_title")
    title = ctx.w(title_key)
    number_label = ctx.w("invoice_no")
    meta: list[tuple[str, str]] = []
    if r.random() < 0.35:  # "Rechnung Nr. 2026-0142" as the title, no number row
        title = f"{title} Nr. {data.number}" if ctx.language == "de" else (f"{title} {data.number}")
    else:
        meta.append((number_label, data.number))
    date_text = ctx.d(data.issue_date)
    place_date = None
    if r.random() < 0.45:
        place_date = place_and_date(
            data.supplier.city, data.issue_date, ctx.language, ctx.date_style
        )
    else:
        meta.append((ctx.w("date"), date_text))
    if data.customer_no:
        meta.append((ctx.w("customer_no"), data.customer_no))
    if r.random() < 0.3 and data.delivery_date:
        meta.append((ctx.w("delivery_date"), ctx.d(data.delivery_date)))
    due_text = ctx.d(data.due_date) if data.due_date else None
    if due_text and r.random() < 0.5:
        meta.append((ctx.w("due"), due_text))
    recipient_uid = None
    if data.recipient.uid and data.recipient.trade != "private" and r.random() < 0.12:
        label = {"de": "Ihre UID", "fr": "Votre IDE", "it": "Vostro IDI", "en": "Your UID"}
        meta.append((label[ctx.language], data.recipient.uid))
        recipient_uid = data.recipient.uid

    columns, rows = item_table(ctx, data.lines)
    totals = vat_rows(ctx, data)
    total_label = ctx.w("total")
    row, printed_total = total_row(ctx, total_label, data.total)
    if data.vat_included:
        totals.insert(0, row)
    else:
        totals.append(row)

    outro: list[str] = []
    if data.terms_text:
        outro.append(data.terms_text)
    if not data.vat and data.supplier.country == "CH":
        key = "vat_exempt_insurance" if trade == "versicherung" else "not_vat_registered"
        outro.append(words.pick(r, key, ctx.language))
    show_bank_in_text = (
        qr is None
        and data.supplier.iban
        and (ctx.layout == 3 or not head.bank_lines or r.random() < 0.3)
    )
    if show_bank_in_text:
        account = [data.supplier.bank_name, f"IBAN {format_iban(data.supplier.iban)}"]
        outro.append(f"{ctx.w('pay_to')} " + ", ".join(a for a in account if a))
    if r.random() < 0.6:
        outro.append(ctx.w("thanks"))

    doc = BusinessDoc(
        layout=ctx.layout,
        language=ctx.language,
        fonts=ctx.fonts,
        sender=data.supplier,
        title=title,
        header_lines=head.header_lines,
        contact_lines=head.contact_lines,
        id_lines=head.id_lines,
        bank_lines=head.bank_lines if ctx.layout != 3 else [],
        window=window,
        pp_line=(
            f"P.P. CH-{data.supplier.postcode} {data.supplier.city}"
            if data.supplier.country == "CH" and r.random() < 0.25
            else None
        ),
        place_date=place_date,
        meta=meta,
        greeting=ctx.w("greeting") if r.random() < 0.35 else None,
        intro=[ctx.w("intro_invoice")] if r.random() < 0.6 else [],
        columns=columns,
        rows=rows,
        totals=totals,
        outro=outro,
        closing=signature_block(ctx),
        page_label=ctx.w("page"),
        carried_label=ctx.w("carried"),
        qr=qr,
        accent=ctx.accent,
        logo_shape=ctx.logo_shape,
        short_ref=f"{ctx.w('invoice_title')} {data.number}",
    )
    truth = invoice_truth(ctx, data, head, window, printed_total, recipient_uid)
    truth.printed["issue_date"] = place_date or date_text
    if qr is not None:
        truth.extra["qr_payload"] = qr.payload()
    if due_text:
        truth.printed["due_date"] = due_text
    filename = _invoice_filename(ctx, data)
    draft = Draft(
        truth=truth,
        filename=filename,
        draw=lambda c: render_business_doc(c, doc),
        when=datetime.combine(data.issue_date, time(r.randint(7, 18), r.randint(0, 59))),
        title=f"{ctx.w('invoice_title')} {data.number}",
        author=data.supplier.name,
        creator=r.choice(CREATORS),
        data=data,
    )
    return InvoiceDraft(draft, data, doc, ctx)


def invoice_truth(
    ctx: Ctx,
    data: InvoiceData,
    head: Letterhead,
    window: list[str],
    printed_total: str,
    recipient_uid: str | None,
) -> Truth:
    shows_iban = bool(head.bank_lines) or data.has_qr
    supplier_iban = data.account if data.has_qr else (data.supplier.iban if shows_iban else None)
    truth = Truth(
        doc_type=data.doc_type,
        language=ctx.language,
        supplier_name=data.supplier.name,
        supplier_uid=head.printed_uid,
        supplier_iban=supplier_iban,
        invoice_number=data.number,
        issue_date=data.issue_date,
        due_date=data.due_date,
        currency=data.currency,
        total=data.total,
        vat=[dict(v) for v in data.vat],
        reference=data.reference,
        has_qr=data.has_qr,
        recipient_name=data.recipient.name,
        recipient_uid=recipient_uid,
        recipient_address=window,
        supplier_address=head.address,
        payment_terms=data.terms_text,
        printed={"total": printed_total, "invoice_number": data.number},
    )
    if head.printed_ids:
        truth.printed["uid"] = head.printed_ids
    if data.supplier.iban:
        truth.printed["iban"] = format_iban(data.supplier.iban)
    if data.account:
        truth.printed["account"] = format_iban(data.account)
    if data.vat_included:
        truth.extra["vat_included"] = True
    if data.customer_no:
        truth.extra["customer_no"] = data.customer_no
    return truth


def _invoice_filename(ctx: Ctx, data: InvoiceData) -> str:
    r = ctx.r
    word = words.first("invoice_title", ctx.language)
    style = r.randrange(4)
    if style == 0:
        name = f"{word}_{data.number}"
    elif style == 1:
        name = f"{data.supplier.name.split()[0]}_{word}_{data.number}"
    elif style == 2:
        name = f"{word}-{data.issue_date:%Y%m%d}"
    else:
        name = f"{data.number}"
    return safe_filename(name) + ".pdf"


# --- public makers ------------------------------------------------------------


def supplier_invoice(
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
    """An A4 invoice from a supplier to the client (optionally with a QR-bill)."""
    r, seed = resolve_rng(rng)
    built = build_invoice(
        r,
        supplier=supplier,
        recipient=recipient,
        language=language,
        currency=currency,
        vat_rates=vat_rates,
        with_qr=with_qr,
        layout=layout,
        issue_date=issue_date,
        lines=lines,
        total=total,
        invoice_number=invoice_number,
    )
    return pdf_document(built.draft, seed)


def customer_invoice(
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
    """An invoice issued BY the client (supplier fields = the client) to its customer."""
    r, seed = resolve_rng(rng)
    built = build_invoice(
        r,
        doc_type="customer_invoice",
        supplier=supplier,
        recipient=recipient,
        language=language,
        currency=currency,
        vat_rates=vat_rates,
        with_qr=with_qr,
        layout=layout,
        issue_date=issue_date,
        lines=lines,
        total=total,
        invoice_number=invoice_number,
    )
    return pdf_document(built.draft, seed)


def credit_note(
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
    """Gutschrift / note de crédit for an earlier invoice; truth total and VAT negative.

    `total` is the credited amount (positive or negative, the truth is negative);
    `with_qr` is accepted for a uniform signature but a credit note has no payment part.
    """
    del with_qr
    r, seed = resolve_rng(rng)
    base = build_invoice(
        r,
        supplier=supplier,
        recipient=recipient,
        language=language,
        currency=currency,
        vat_rates=vat_rates,
        with_qr=False,
        layout=layout,
        issue_date=issue_date,
        lines=lines if lines is not None else r.choice((1, 1, 2, 3)),
        total=abs(total) if total is not None else None,
    )
    data, ctx_doc, ctx = base.data, base.doc, base.ctx
    original_no = random_invoice_number(r, data.issue_date - timedelta(days=30))
    original_date = data.issue_date - timedelta(days=r.randint(5, 60))
    number = invoice_number or random_invoice_number(
        r, data.issue_date, prefix=r.choice(("GS-", "CN-", "", "G"))
    )
    show_negative = r.random() < 0.5
    sign = -1 if show_negative else 1
    columns, rows = item_table(ctx, data.lines, sign)
    totals = vat_rows(ctx, data, sign)
    row, printed = total_row(ctx, ctx.w("credit_total"), sign * data.total)
    if data.vat_included:
        totals.insert(0, row)
    else:
        totals.append(row)
    title = ctx.w("credit_title")
    doc = replace(
        ctx_doc,
        title=title,
        meta=[
            (words.pick(r, "credit_no", ctx.language), number),
            (words.first("date", ctx.language), ctx.d(data.issue_date)),
        ],
        place_date=None,
        intro=[
            ctx.w("credit_ref").format(no=original_no, date=ctx.d(original_date)),
            ctx.w("credit_intro"),
        ],
        greeting=None,
        columns=columns,
        rows=rows,
        totals=totals,
        outro=[ctx.w("credit_outro")],
        qr=None,
        short_ref=f"{title} {number}",
    )
    neg = Decimal(-1)
    truth = replace(
        base.draft.truth,
        doc_type="credit_note",
        invoice_number=number,
        total=neg * data.total,
        due_date=None,
        payment_terms=None,
        reference=None,
        has_qr=False,
        vat=[
            {"rate": v["rate"], "base": neg * v["base"], "amount": neg * v["amount"]}
            for v in data.vat
        ],
        printed={
            **base.draft.truth.printed,
            "total": printed,
            "invoice_number": number,
            "issue_date": ctx.d(data.issue_date),
        },
        extra={
            **base.draft.truth.extra,
            "original_invoice": original_no,
            "original_date": original_date,
        },
    )
    truth.printed.pop("due_date", None)
    # Without a payment text the bank shows only in a letterhead footer (not in layout 3).
    truth.supplier_iban = data.supplier.iban if doc.bank_lines else None
    draft = replace(
        base.draft,
        truth=truth,
        draw=lambda c: render_business_doc(c, doc),
        filename=safe_filename(f"{title}_{number}") + ".pdf",
        title=f"{title} {number}",
    )
    return pdf_document(draft, seed)


def reminder(
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
    level: int | None = None,
) -> GeneratedDocument:
    """Mahnung / rappel / sollecito for an earlier invoice.

    Truth: `invoice_number` is the ORIGINAL invoice's number, `total` the amount now
    due (open amount + reminder fee), `vat` empty (a reminder is no VAT document),
    `issue_date` the reminder's date, `due_date` the new payment deadline.
    `total`, when given, forces the original invoice's total.
    """
    r, seed = resolve_rng(rng)
    if supplier is None and with_qr:
        supplier = random_company(r, "CH")
    reminder_date = issue_date
    original_date = (reminder_date - timedelta(days=r.randint(40, 90))) if reminder_date else None
    base = build_invoice(
        r,
        supplier=supplier,
        recipient=recipient,
        language=language,
        currency=currency,
        vat_rates=vat_rates,
        with_qr=False,
        layout=layout,
        issue_date=original_date,
        lines=lines,
        total=total,
        invoice_number=invoice_number,
    )
    data, base_doc, ctx = base.data, base.doc, base.ctx
    if reminder_date is None:
        reminder_date = (data.due_date or data.issue_date) + timedelta(days=r.randint(8, 40))
    level = level if level is not None else r.choices((0, 1, 2, 3), weights=(35, 35, 20, 10))[0]
    fee = (ZERO, ZERO, Decimal("20.00"), Decimal("40.00"))[level]
    if level == 1 and r.random() < 0.4:
        fee = Decimal("10.00")
    amount_due = data.total + fee
    new_due = reminder_date + timedelta(days=r.choice((10, 10, 14, 20)))
    if with_qr is None:
        with_qr = (
            data.supplier.country in ("CH", "LI") and bool(data.supplier.iban) and r.random() < 0.6
        )
    if with_qr and data.supplier.country not in ("CH", "LI"):
        raise ValueError("a Swiss QR-bill needs a CH/LI supplier IBAN")
    qr = None
    if with_qr:
        data_for_qr = replace(data, total=amount_due)
        qr = _qr_spec(ctx, data_for_qr)
        qr.amount = amount_due
        data.reference, data.account, data.has_qr = (
            data_for_qr.reference,
            data_for_qr.account,
            True,
        )
    cols = words.first("reminder_cols", ctx.language).split("|")
    columns = [
        Column(h, w, a)
        for h, w, a in zip(
            cols,
            [36.0, 30.0, 30.0, 35.0, 35.0],
            ["left", "left", "left", "right", "right"],
            strict=True,
        )
    ]
    rows = [
        [
            data.number,
            ctx.d(data.issue_date),
            ctx.d(data.due_date or data.issue_date),
            ctx.money.number(data.total),
            ctx.money.number(data.total),
        ]
    ]
    totals = []
    if fee:
        totals.append(TotalRow(ctx.w("reminder_fee"), ctx.money.number(fee)))
    row, printed = total_row(ctx, ctx.w("reminder_total"), amount_due)
    totals.append(row)
    title = (
        words.first("reminder_title", ctx.language)
        if level == 0
        else words.WORDS["reminder_title"][ctx.language][min(level, 3)]
    )
    days = (new_due - reminder_date).days
    doc = replace(
        base_doc,
        title=title,
        meta=[(words.first("date", ctx.language), ctx.d(reminder_date))],
        place_date=None,
        greeting=ctx.w("greeting"),
        intro=[ctx.w("reminder_intro")],
        columns=columns,
        rows=rows,
        totals=totals,
        outro=[words.pick(r, "reminder_outro", ctx.language).format(days=days)],
        qr=qr,
        short_ref=title,
    )
    shows_iban = bool(doc.bank_lines) or with_qr
    truth = replace(
        base.draft.truth,
        doc_type="reminder",
        issue_date=reminder_date,
        due_date=new_due,
        total=amount_due,
        vat=[],
        has_qr=bool(with_qr),
        reference=data.reference if with_qr else None,
        payment_terms=doc.outro[0],
        supplier_iban=(data.account if with_qr else data.supplier.iban) if shows_iban else None,
        printed={**base.draft.truth.printed, "total": printed, "issue_date": ctx.d(reminder_date)},
        extra={
            "level": level,
            "original_total": data.total,
            "fee": fee,
            "original_issue_date": data.issue_date,
        },
    )
    truth.printed.pop("due_date", None)
    truth.extra.pop("qr_payload", None)
    if qr is not None:
        truth.extra["qr_payload"] = qr.payload()
    if with_qr and data.account:
        truth.printed["account"] = format_iban(data.account)
    draft = replace(
        base.draft,
        truth=truth,
        draw=lambda c: render_business_doc(c, doc),
        filename=safe_filename(f"{title}_{data.number}") + ".pdf",
        title=title,
        when=datetime.combine(reminder_date, time(9, 0)),
    )
    return pdf_document(draft, seed)
