"""Till receipts: 80 mm wide slips of variable length, prices incl. VAT, cash or card."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from reportlab.pdfgen.canvas import Canvas

from .drafts import Draft, build_pdf, pdf_document, safe_filename
from .identities import _house_no, _phone, random_person, swiss_iban, swiss_uid
from .invoices import random_issue_date
from .model import Company, GeneratedDocument, Rng, Truth, resolve_rng
from .pdfkit import COURIER, HELVETICA, FontSet, Pen
from .places import STREETS, SURNAMES, SWISS_PLACES
from .swiss_formats import (
    format_rate,
    money,
    round05,
    vat_number,
    vat_rate,
)

WIDTH = 80.0  # mm, the usual thermal paper
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ShopItem:
    de: str
    fr: str
    it: str
    lo: Decimal
    hi: Decimal
    cat: str = "N"
    unit_qty: tuple[int, int] = (1, 2)


def _i(
    de: str, fr: str, it: str, lo: str, hi: str, cat: str = "N", q: tuple[int, int] = (1, 2)
) -> ShopItem:
    return ShopItem(de, fr, it, Decimal(lo), Decimal(hi), cat, q)


SHOPS: dict[str, dict] = {
    "grocery": {
        "names": {
            "de": ("Dorfladen {s}", "Frischmarkt {town} AG", "Lebensmittel {s}"),
            "fr": ("Épicerie du Village", "Épicerie {s}", "Marché {town} SA"),
            "it": ("Alimentari {s}", "Negozio {s} SA"),
        },
        "items": (
            _i("Vollmilch 1 l", "Lait entier 1 l", "Latte intero 1 l", "1.60", "1.95", "R", (1, 4)),
            _i(
                "Ruchbrot 500 g",
                "Pain mi-blanc 500 g",
                "Pane semibianco 500 g",
                "2.60",
                "3.90",
                "R",
            ),
            _i("Äpfel Gala 1 kg", "Pommes Gala 1 kg", "Mele Gala 1 kg", "3.20", "4.95", "R"),
            _i("Gruyère AOP 250 g", "Gruyère AOP 250 g", "Gruyère AOP 250 g", "5.40", "7.80", "R"),
            _i(
                "Kaffee Bohnen 500 g",
                "Café en grains 500 g",
                "Caffè in grani 500 g",
                "7.95",
                "12.50",
                "R",
            ),
            _i(
                "Schokolade Milch 100 g",
                "Chocolat au lait 100 g",
                "Cioccolato al latte 100 g",
                "1.50",
                "2.95",
                "R",
                (1, 5),
            ),
            _i(
                "Mineralwasser 6x1.5 l",
                "Eau minérale 6x1.5 l",
                "Acqua minerale 6x1.5 l",
                "4.50",
                "6.90",
                "R",
            ),
            _i(
                "Bier Lager 50 cl",
                "Bière blonde 50 cl",
                "Birra chiara 50 cl",
                "1.45",
                "2.20",
                "N",
                (1, 6),
            ),
            _i("Abwaschmittel", "Produit vaisselle", "Detersivo piatti", "2.95", "4.50", "N"),
            _i("Zahnpasta", "Dentifrice", "Dentifricio", "2.45", "4.95", "N"),
            _i(
                "Kehrichtsack 35 l",
                "Sacs poubelle 35 l",
                "Sacchi rifiuti 35 l",
                "2.40",
                "4.60",
                "N",
            ),
        ),
    },
    "restaurant": {
        "names": {
            "de": ("Restaurant Löwen", "Gasthaus Rössli", "Restaurant Sternen", "Café Central"),
            "fr": ("Café du Commerce", "Restaurant de la Gare", "Brasserie du Lac"),
            "it": ("Ristorante Da Mario", "Grotto Ticino", "Osteria del Ponte"),
        },
        "items": (
            _i("Tagesmenü", "Menu du jour", "Menu del giorno", "18.50", "26.50", "N", (1, 4)),
            _i(
                "Mineral 5 dl",
                "Eau minérale 5 dl",
                "Acqua minerale 5 dl",
                "4.50",
                "6.00",
                "N",
                (1, 4),
            ),
            _i("Kaffee crème", "Café crème", "Caffè crema", "4.20", "5.20", "N", (1, 4)),
            _i("Cappuccino", "Cappuccino", "Cappuccino", "4.80", "5.90", "N", (1, 3)),
            _i("Grüner Salat", "Salade verte", "Insalata verde", "7.50", "11.50", "N"),
            _i(
                "Cordon bleu mit Pommes",
                "Cordon bleu frites",
                "Cordon bleu con patatine",
                "28.50",
                "38.50",
                "N",
            ),
            _i(
                "Bier vom Fass 3 dl",
                "Bière pression 3 dl",
                "Birra alla spina 3 dl",
                "4.80",
                "6.50",
                "N",
                (1, 4),
            ),
            _i(
                "Glas Weisswein 1 dl",
                "Verre de blanc 1 dl",
                "Bicchiere di bianco 1 dl",
                "5.50",
                "8.50",
                "N",
                (1, 3),
            ),
        ),
    },
    "fuel": {
        "names": {
            "de": ("Tankstelle {town}", "Autohof {town} AG"),
            "fr": ("Station-service du Lac", "Station {town} SA"),
            "it": ("Stazione di servizio {town}",),
        },
        "items": (
            _i("Sandwich Schinken", "Sandwich jambon", "Panino prosciutto", "4.90", "6.90", "R"),
            _i("Kaffee to go", "Café à l'emporter", "Caffè da asporto", "3.20", "4.50", "R"),
            _i(
                "Scheibenwischerflüssigkeit 3 l",
                "Lave-glace 3 l",
                "Liquido tergicristalli 3 l",
                "6.90",
                "12.90",
                "N",
            ),
        ),
        "fuel": True,
    },
    "hardware": {
        "names": {
            "de": ("Bau- und Hobbycenter {town}", "Eisenwaren {s} AG"),
            "fr": ("Quincaillerie {s}", "Brico {town} SA"),
            "it": ("Ferramenta {s}", "Brico {town} SA"),
        },
        "items": (
            _i(
                "Holzschrauben 4x40 (200 Stk.)",
                "Vis à bois 4x40 (200 pces)",
                "Viti per legno 4x40 (200 pz.)",
                "8.90",
                "14.90",
                "N",
            ),
            _i(
                "Dübel 6 mm (50 Stk.)",
                "Chevilles 6 mm (50 pces)",
                "Tasselli 6 mm (50 pz.)",
                "4.50",
                "7.90",
                "N",
            ),
            _i(
                "Malerabdeckband 30 mm",
                "Ruban de masquage 30 mm",
                "Nastro per pittori 30 mm",
                "3.95",
                "6.95",
                "N",
                (1, 4),
            ),
            _i(
                "Akku-Bohrschrauber",
                "Perceuse-visseuse sans fil",
                "Trapano avvitatore",
                "89.00",
                "189.00",
                "N",
                (1, 1),
            ),
            _i(
                "Wandfarbe weiss 2.5 l",
                "Peinture murale blanche 2.5 l",
                "Pittura murale bianca 2.5 l",
                "29.90",
                "49.90",
                "N",
            ),
            _i(
                "Glühbirne LED E27",
                "Ampoule LED E27",
                "Lampadina LED E27",
                "4.95",
                "9.95",
                "N",
                (1, 6),
            ),
        ),
    },
    "stationery": {
        "names": {
            "de": ("Papeterie {s}", "Bürobedarf {town} AG"),
            "fr": ("Papeterie {s}", "Librairie-Papeterie du Centre"),
            "it": ("Cartoleria {s}", "Libreria {s}"),
        },
        "items": (
            _i(
                "Ordner A4 breit",
                "Classeur A4 large",
                "Raccoglitore A4",
                "3.90",
                "6.90",
                "N",
                (1, 6),
            ),
            _i(
                "Kugelschreiber blau",
                "Stylo à bille bleu",
                "Penna a sfera blu",
                "1.20",
                "3.50",
                "N",
                (1, 10),
            ),
            _i(
                "Kopierpapier A4 500 Bl.",
                "Papier A4 500 f.",
                "Carta A4 500 fogli",
                "5.90",
                "9.90",
                "N",
                (1, 5),
            ),
            _i("Agenda 2026", "Agenda 2026", "Agenda 2026", "14.90", "29.90", "R"),
            _i(
                "Fachbuch Buchhaltung",
                "Manuel de comptabilité",
                "Manuale di contabilità",
                "39.00",
                "69.00",
                "R",
                (1, 1),
            ),
            _i("Tageszeitung", "Quotidien", "Quotidiano", "3.50", "4.50", "R"),
        ),
    },
    "pharmacy": {
        "names": {
            "de": ("Apotheke {town}", "Apotheke am Bahnhof"),
            "fr": ("Pharmacie du Centre", "Pharmacie de la Gare"),
            "it": ("Farmacia {s}", "Farmacia Centrale"),
        },
        "items": (
            _i(
                "Dafalgan 500 mg 16 Tbl.",
                "Dafalgan 500 mg 16 cpr.",
                "Dafalgan 500 mg 16 cpr.",
                "4.90",
                "6.90",
                "R",
            ),
            _i("Nasenspray", "Spray nasal", "Spray nasale", "8.90", "14.90", "R"),
            _i(
                "Pflaster Sortiment",
                "Pansements assortis",
                "Cerotti assortiti",
                "5.90",
                "9.90",
                "N",
            ),
            _i("Handcreme", "Crème pour les mains", "Crema mani", "7.90", "16.90", "N"),
            _i(
                "Desinfektionsmittel 100 ml",
                "Désinfectant 100 ml",
                "Disinfettante 100 ml",
                "4.50",
                "8.90",
                "N",
            ),
        ),
    },
}

FUEL = {
    "de": ("Bleifrei 95", "Diesel"),
    "fr": ("Sans plomb 95", "Diesel"),
    "it": ("Senza piombo 95", "Diesel"),
}

LABELS = {
    "de": {
        "date": "Datum",
        "time": "Zeit",
        "no": "Beleg-Nr.",
        "till": "Kasse",
        "total": ("TOTAL", "Total", "Summe"),
        "cash": "Bar",
        "change": "Rückgeld",
        "card": "Karte",
        "vat": "MWST",
        "incl": "inkl.",
        "gross": "Brutto",
        "net": "Netto",
        "thanks": (
            "Vielen Dank für Ihren Einkauf!",
            "Besten Dank und auf Wiedersehen",
            "Danke für Ihren Besuch",
        ),
        "table": "Tisch",
        "served": "Es bediente Sie",
        "title": ("Quittung", "Kassenbeleg", ""),
    },
    "fr": {
        "date": "Date",
        "time": "Heure",
        "no": "Ticket n°",
        "till": "Caisse",
        "total": ("TOTAL", "Total", "Montant"),
        "cash": "Espèces",
        "change": "Rendu",
        "card": "Carte",
        "vat": "TVA",
        "incl": "incl.",
        "gross": "Brut",
        "net": "Net",
        "thanks": ("Merci de votre visite !", "Merci et à bientôt"),
        "table": "Table",
        "served": "Vous avez été servi par",
        "title": ("Quittance", "Ticket de caisse", ""),
    },
    "it": {
        "date": "Data",
        "time": "Ora",
        "no": "Scontrino n.",
        "till": "Cassa",
        "total": ("TOTALE", "Totale"),
        "cash": "Contanti",
        "change": "Resto",
        "card": "Carta",
        "vat": "IVA",
        "incl": "incl.",
        "gross": "Lordo",
        "net": "Netto",
        "thanks": ("Grazie e arrivederci!", "Grazie per la visita"),
        "table": "Tavolo",
        "served": "Vi ha servito",
        "title": ("Ricevuta", "Scontrino", ""),
    },
}
CARDS = (
    "Debit Mastercard",
    "Visa Debit",
    "PostFinance Card",
    "Mastercard",
    "Visa",
    "Maestro",
)


@dataclass
class ReceiptLine:
    text: str
    qty: int
    unit_price: Decimal
    amount: Decimal
    rate: Decimal | None
    detail: str | None = None  # "42.15 l x 1.879" for fuel


def random_shop(r: random.Random, kind: str | None = None, language: str | None = None) -> Company:
    """A shop, restaurant or petrol station with a real Swiss address and a valid UID."""
    kind = kind or r.choices(list(SHOPS), weights=(30, 25, 12, 12, 12, 9))[0]
    places = [p for p in SWISS_PLACES if language in (None, p[3])]
    postcode, city, canton, lang = r.choice(places)
    town = city.split(" ")[0].split("/")[0]
    pattern = r.choice(SHOPS[kind]["names"][lang])
    name = pattern.format(s=r.choice(SURNAMES[lang]), town=town)
    return Company(
        name=name,
        street=r.choice(STREETS[lang]),
        house_no=_house_no(r),
        postcode=postcode,
        city=city,
        country="CH",
        uid=swiss_uid(r),
        iban=swiss_iban(r),
        phone=_phone(r, "CH", canton),
        language=lang,
        trade=f"shop:{kind}",
        vat_registered=r.random() < 0.95,
    )


def _shop_kind(company: Company, r: random.Random) -> str:
    if company.trade.startswith("shop:"):
        return company.trade.split(":", 1)[1]
    return r.choice(("grocery", "hardware", "stationery"))


def _lines(
    r: random.Random,
    kind: str,
    language: str,
    count: int,
    on: date,
    rates: tuple[Decimal, ...] | None,
    vat_registered: bool,
) -> list[ReceiptLine]:
    spec = SHOPS[kind]

    def rate_for(index: int, category: str) -> Decimal | None:
        if not vat_registered:
            return None
        if rates is not None:
            return rates[index % len(rates)]
        return vat_rate("CH", category, on)

    lines: list[ReceiptLine] = []
    if spec.get("fuel") and count:
        litres = Decimal(r.randint(1500, 6500)) / Decimal(100)
        price = Decimal(r.randint(1689, 2099)) / Decimal(1000)
        amount = round05(litres * price)  # the pump rounds to 5 Rappen
        lines.append(
            ReceiptLine(
                r.choice(FUEL[language]),
                1,
                amount,
                amount,
                rate_for(0, "N"),
                f"{litres:.2f} l x {price:.3f}",
            )
        )
    items = list(spec["items"])
    r.shuffle(items)  # each article once before any repeats, as on a real slip
    for i in range(len(lines), count):
        item = items[i % len(items)]
        steps = int((item.hi - item.lo) / Decimal("0.05"))
        unit = item.lo + Decimal("0.05") * r.randint(0, steps)  # Swiss prices: 5 Rappen steps
        qty = r.randint(*item.unit_qty) if r.random() < 0.4 else 1
        lines.append(
            ReceiptLine(
                getattr(item, language), qty, money(unit), money(unit * qty), rate_for(i, item.cat)
            )
        )
    return lines


def _force(lines: list[ReceiptLine], total: Decimal) -> list[ReceiptLine]:
    current = sum((ln.amount for ln in lines), ZERO)
    out: list[ReceiptLine] = []
    running = ZERO
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        amount = total - running if last else round05(line.amount * total / current)
        if amount <= 0:
            continue
        running += amount
        out.append(ReceiptLine(line.text, 1, amount, amount, line.rate, None))
    if running != total:  # everything went to rounding: one line carries it all
        out = [ReceiptLine(lines[0].text, 1, total, total, lines[0].rate)]
    return out


def receipt_vat(lines: list[ReceiptLine]) -> list[dict[str, Decimal]]:
    """Prices include VAT: amount = gross x rate / (100 + rate), base = gross - amount."""
    gross: dict[Decimal, Decimal] = {}
    for line in lines:
        if line.rate is not None:
            gross[line.rate] = gross.get(line.rate, ZERO) + line.amount
    out = []
    for rate in sorted(gross, reverse=True):
        amount = money(gross[rate] * rate / (Decimal(100) + rate))
        out.append({"rate": rate, "base": gross[rate] - amount, "amount": amount})
    return out


@dataclass
class ReceiptData:
    shop: Company
    kind: str
    language: str
    currency: str
    when: datetime
    number: str
    lines: list[ReceiptLine]
    vat: list[dict[str, Decimal]]
    total: Decimal
    payment: str  # cash | card | twint
    given: Decimal | None
    card: str | None
    fonts: FontSet
    layout: int
    table: int | None
    waiter: str | None
    uid_printed: bool


def build_receipt(
    r: random.Random,
    *,
    supplier: Company | None = None,
    language: str | None = None,
    currency: str | None = None,
    vat_rates: tuple[Decimal, ...] | None = None,
    layout: int | None = None,
    issue_date: date | None = None,
    lines: int | None = None,
    total: Decimal | None = None,
    invoice_number: str | None = None,
    payment: str | None = None,
) -> Draft:
    shop = supplier or random_shop(r, language=language if language in ("de", "fr", "it") else None)
    lang = language if language in ("de", "fr", "it") else shop.language
    if lang not in ("de", "fr", "it"):
        lang = "de"
    kind = _shop_kind(shop, r)
    day = issue_date or random_issue_date(r)
    when = datetime.combine(day, time(r.randint(7, 21), r.randint(0, 59), r.randint(0, 59)))
    count = (
        lines
        if lines is not None
        else r.choices((1, 2, 3, 4, 5, 6, 8, 11, 15), weights=(14, 16, 16, 14, 11, 9, 8, 7, 5))[0]
    )
    rates = tuple(Decimal(x) for x in vat_rates) if vat_rates else None
    items = _lines(r, kind, lang, max(count, 1), day, rates, shop.vat_registered)
    if total is not None:
        items = _force(items, money(total))
    vat = receipt_vat(items)
    grand = sum((ln.amount for ln in items), ZERO)
    pay = payment or r.choices(("cash", "card", "twint"), weights=(35, 50, 15))[0]
    given = None
    if pay == "cash":
        notes = [Decimal(x) for x in (10, 20, 50, 100, 200)]
        given = next((n for n in notes if n >= grand), grand)
    layout = r.randrange(3) if layout is None else layout % 3
    data = ReceiptData(
        shop=shop,
        kind=kind,
        language=lang,
        currency=currency or "CHF",
        when=when,
        number=invoice_number or str(r.randint(1000, 999999)),
        lines=items,
        vat=vat,
        total=grand,
        payment=pay,
        given=given,
        card=r.choice(CARDS) if pay == "card" else ("TWINT" if pay == "twint" else None),
        fonts=(COURIER, HELVETICA, COURIER)[layout],
        layout=layout,
        table=r.randint(1, 24) if kind == "restaurant" else None,
        waiter=random_person(r, lang)[0] if kind == "restaurant" else None,
        uid_printed=shop.vat_registered and r.random() < 0.9,
    )
    body = _receipt_lines(r, data)
    height = max(110.0, 18 + len(body) * 4.1)
    printed_total = _fmt(data.total)
    truth = Truth(
        doc_type="receipt",
        language=lang,
        supplier_name=shop.name,
        supplier_uid=shop.uid if data.uid_printed else None,
        supplier_iban=None,
        invoice_number=data.number,
        issue_date=day,
        due_date=None,
        currency=data.currency,
        total=data.total,
        vat=vat,
        reference=None,
        has_qr=False,
        supplier_address=[shop.name, shop.street_line, shop.town_line],
        printed={
            "total": printed_total,
            "invoice_number": data.number,
            "issue_date": when.strftime("%d.%m.%Y"),
        },
        extra={
            "time": when.strftime("%H:%M"),
            "payment": pay,
            "shop_kind": kind,
            "items": len(items),
        },
    )

    def draw(c: Canvas) -> int:
        pen = Pen(c, data.fonts, (WIDTH, height))
        pen.set_page_size((WIDTH, height))
        _draw_receipt(pen, data, body)
        c.showPage()
        return 1

    word = LABELS[lang]["title"][0]
    return Draft(
        truth=truth,
        filename=safe_filename(f"{word}_{shop.name.split()[0]}_{when:%Y%m%d}") + ".pdf",
        draw=draw,
        when=when,
        title=word,
        author=shop.name,
        creator="POS",
        size_mm=(WIDTH, height),
        data=data,
    )


def _fmt(value: Decimal) -> str:
    return f"{value:.2f}"


# A receipt is a list of (left, right, style) rows: style in "", "b" bold, "c" centred,
# "cb" centred bold, "-" rule.
Row = tuple[str, str, str]


def _receipt_lines(r: random.Random, d: ReceiptData) -> list[Row]:
    lab = LABELS[d.language]
    rows: list[Row] = [
        (d.shop.name, "", "cb"),
        (d.shop.street_line, "", "c"),
        (d.shop.town_line, "", "c"),
        (f"Tel. {d.shop.phone}", "", "c"),
    ]
    if d.uid_printed and d.shop.uid:
        rows.append((vat_number(d.shop.uid, d.language), "", "c"))
    title = r.choice(lab["title"])
    if title:
        rows += [("", "", ""), (title, "", "cb")]
    rows.append(("", "", "-"))
    rows.append((f"{lab['date']}: {d.when:%d.%m.%Y}", f"{lab['time']}: {d.when:%H:%M}", ""))
    rows.append((f"{lab['no']} {d.number}", f"{lab['till']} {r.randint(1, 6)}", ""))
    if d.table is not None:
        rows.append((f"{lab['table']} {d.table}", "", ""))
    rows.append(("", "", "-"))
    for line in d.lines:
        if line.detail:
            rows.append((line.text, _fmt(line.amount), ""))
            rows.append((f"  {line.detail}", "", ""))
        elif line.qty > 1:
            rows.append((line.text, "", ""))
            rows.append((f"  {line.qty} x {_fmt(line.unit_price)}", _fmt(line.amount), ""))
        else:
            rows.append((line.text, _fmt(line.amount), ""))
    rows.append(("", "", "-"))
    rows.append((f"{r.choice(lab['total'])} {d.currency}", _fmt(d.total), "b"))
    if d.payment == "cash" and d.given is not None:
        rows.append((lab["cash"], _fmt(d.given), ""))
        rows.append((lab["change"], _fmt(d.given - d.total), ""))
    else:
        rows.append((d.card or lab["card"], _fmt(d.total), ""))
        if d.payment == "card":
            rows.append((f"XXXX XXXX XXXX {r.randint(1000, 9999)}", "", ""))
            rows.append(
                (
                    f"Trm-Id: {r.randint(10000000, 99999999)}",
                    f"Auth: {r.randint(100000, 999999)}",
                    "",
                )
            )
    if d.vat:
        rows.append(("", "", "-"))
        if r.random() < 0.5:
            rows.append((f"{lab['vat']}  {lab['gross']}   {lab['vat']}", lab["net"], ""))
            for v in d.vat:
                gross = v["base"] + v["amount"]
                left = f"{format_rate(v['rate'])}%  {_fmt(gross):>7} {_fmt(v['amount']):>6}"
                rows.append((left, _fmt(v["base"]), ""))
        else:
            for v in d.vat:
                rows.append(
                    (f"{lab['vat']} {format_rate(v['rate'])}% {lab['incl']}", _fmt(v["amount"]), "")
                )
    elif not d.shop.vat_registered:
        rows.append(("", "", "-"))
    if d.waiter:
        rows.append((f"{lab['served']} {d.waiter}", "", ""))
    rows.append(("", "", ""))
    rows.append((r.choice(lab["thanks"]), "", "c"))
    return rows


def _draw_receipt(pen: Pen, d: ReceiptData, rows: list[Row]) -> None:
    size = 8.0 if d.fonts is COURIER else 8.5
    x0, x1 = 5.0, WIDTH - 5.0
    y = 10.0
    for left, right, style in rows:
        if style == "-":
            if d.layout == 1:
                pen.line(x0, y - 2.2, x1, y - 2.2, 0.3)
            else:
                pen.text(WIDTH / 2, y - 1, "-" * 38, size, align="center")
            y += 2.8
            continue
        bold = "bold" if "b" in style else "regular"
        sz = size + (2.5 if style == "cb" and y < 15 else (1.2 if "b" in style else 0))
        if "c" in style:
            pen.text(WIDTH / 2, y, left, sz, bold, "center")
        else:
            pen.text(x0, y, left, sz, bold)
            if right:
                pen.text(x1, y, right, sz, bold, "right")
        y += 4.1 if sz < 10 else 5.0


def receipt(
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
    payment: str | None = None,
) -> GeneratedDocument:
    """A till receipt (80 mm wide, variable length).

    Truth: no recipient (receipts under CHF 400 name no buyer), `invoice_number` is the
    printed receipt number, `vat` per rate with base = net (prices include VAT), `total`
    the amount paid. `recipient` and `with_qr` are accepted for a uniform signature and
    ignored. `payment`: "cash" | "card" | "twint".
    """
    del recipient, with_qr
    r, seed = resolve_rng(rng)
    draft = build_receipt(
        r,
        supplier=supplier,
        language=language,
        currency=currency,
        vat_rates=vat_rates,
        layout=layout,
        issue_date=issue_date,
        lines=lines,
        total=total,
        invoice_number=invoice_number,
        payment=payment,
    )
    return pdf_document(draft, seed)


def multi_receipt_pdf(rng: Rng, n: int = 3) -> GeneratedDocument:
    """Several receipts in one PDF, one per page (what clients scan in one go).

    `parts` holds each receipt's truth, `page_ranges` their pages; `truth` is the first
    receipt's, with `parts` (page ranges) and `pages` set for the whole file.
    """
    r, seed = resolve_rng(rng)
    day = random_issue_date(r)
    drafts = [build_receipt(r, issue_date=day - timedelta(days=r.randint(0, 20))) for _ in range(n)]
    data, ranges = build_pdf(drafts, seed)
    parts = [d.truth for d in drafts]
    first = Truth(**{**parts[0].__dict__})
    first.printed = dict(parts[0].printed)
    first.extra = dict(parts[0].extra)
    first.pages = ranges[-1][1]
    first.parts = list(ranges)
    return GeneratedDocument(
        data=data,
        filename=f"Belege_{day:%Y-%m}.pdf",
        media_type="application/pdf",
        truth=first,
        copy="text",
        seed=seed,
        parts=parts,
        page_ranges=ranges,
    )
