"""Identifiers with valid check digits, and realistic companies and people.

Every check digit is computed here from the published algorithm (not by stdnum), so
the tests can cross-check both against each other.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import replace

from .catalog import CLIENT_TRADES, PROVIDER_NAMES, SUPPLIER_TRADE_WEIGHTS, TRADES
from .model import Company, Rng
from .places import (
    FIRST_NAMES,
    FOREIGN_PLACES,
    STREETS,
    SURNAMES,
    SWISS_BANKS,
    SWISS_PLACES,
)

_UID_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4)
_MOD10_TABLE = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)


def _rng(rng: Rng) -> random.Random:
    return rng if isinstance(rng, random.Random) else random.Random(rng)


# --- Swiss UID ----------------------------------------------------------------


def uid_check_digit(first8: str) -> int | None:
    """Mod 11 with weights 5,4,3,2,7,6,5,4; None where the check would be 10 (never issued)."""
    total = sum(int(d) * w for d, w in zip(first8, _UID_WEIGHTS, strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else check


def format_uid(digits9: str) -> str:
    return f"CHE-{digits9[0:3]}.{digits9[3:6]}.{digits9[6:9]}"


def swiss_uid(rng: Rng) -> str:
    """A valid `CHE-123.456.789`."""
    r = _rng(rng)
    while True:
        # Real UIDs start with 1..4 (issued since 2011 in the 100-499 million range).
        first8 = str(r.randint(1, 4)) + "".join(str(r.randint(0, 9)) for _ in range(7))
        check = uid_check_digit(first8)
        if check is not None:
            return format_uid(first8 + str(check))


# --- IBAN ---------------------------------------------------------------------


def _alnum_to_digits(text: str) -> str:
    return "".join(str(int(ch, 36)) for ch in text.upper())


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616: 98 - (BBAN + country + "00" as digits) mod 97."""
    value = int(_alnum_to_digits(bban + country + "00"))
    return f"{98 - value % 97:02d}"


def make_iban(country: str, bban: str) -> str:
    return country + iban_check_digits(country, bban) + bban


def _digits(r: random.Random, n: int) -> str:
    return "".join(str(r.randint(0, 9)) for _ in range(n))


def swiss_iban(rng: Rng, iid: str | None = None, country: str = "CH") -> str:
    """A valid Swiss (or Liechtenstein) IBAN with a normal bank IID (not a QR-IID)."""
    r = _rng(rng)
    if iid is None:
        iid = r.choice(SWISS_BANKS)[0]
    return make_iban(country, iid + _digits(r, 12))


def qr_iban(rng: Rng, country: str = "CH") -> str:
    """A valid QR-IBAN: the IID (chars 5-9) lies in 30000-31999."""
    r = _rng(rng)
    return make_iban(country, str(r.randint(30000, 31999)) + _digits(r, 12))


def _fr_rib_key(bank: str, branch: str, account: str) -> str:
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"


_CIN_ODD = (
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
)


def _it_cin(bban22: str) -> str:
    """Italian CIN letter: odd positions through a fixed table, even ones by value."""
    total = 0
    for pos, ch in enumerate(bban22):
        idx = int(ch) if ch.isdigit() else ord(ch) - ord("A")
        total += _CIN_ODD[idx] if pos % 2 == 0 else idx
    return chr(ord("A") + total % 26)


def foreign_iban(rng: Rng, country: str) -> str:
    r = _rng(rng)
    if country == "DE":  # 8-digit BLZ + 10-digit account
        return make_iban(
            "DE", r.choice(("60050101", "69050001", "70150000", "10010010")) + _digits(r, 10)
        )
    if country == "AT":  # 5-digit bank code + 11-digit account
        return make_iban("AT", r.choice(("20604", "37420", "12000", "14000")) + _digits(r, 11))
    if country == "FR":
        bank, branch, account = r.choice(("30004", "30003", "20041")), _digits(r, 5), _digits(r, 11)
        return make_iban("FR", bank + branch + account + _fr_rib_key(bank, branch, account))
    if country == "IT":
        rest = r.choice(("03069", "05034", "02008")) + _digits(r, 5) + _digits(r, 12)
        return make_iban("IT", _it_cin(rest) + rest)
    if country == "LI":
        return swiss_iban(r, iid=r.choice(("08800", "08810", "08803")), country="LI")
    return swiss_iban(r)


# --- Payment references -------------------------------------------------------


def mod10_recursive(digits: str) -> int:
    carry = 0
    for d in digits:
        carry = _MOD10_TABLE[(carry + int(d)) % 10]
    return (10 - carry) % 10


def qrr_reference(rng: Rng, base: str | None = None) -> str:
    """27 digits, the last a mod-10-recursive check digit (QR reference, former ESR)."""
    if base is None:
        r = _rng(rng)
        # Issuers put a customer and an invoice number in, padded with zeros.
        base = _digits(r, r.randint(0, 6)) + "0" * r.randint(0, 8) + _digits(r, 10)
    base = "".join(ch for ch in base if ch.isdigit())[-26:].rjust(26, "0")
    return base + str(mod10_recursive(base))


def scor_reference(rng: Rng, base: str | None = None) -> str:
    """ISO 11649 creditor reference: RF, two check digits, up to 21 alphanumerics."""
    if base is None:
        r = _rng(rng)
        base = _digits(r, r.randint(6, 14))
    base = "".join(ch for ch in base.upper() if ch.isalnum())[:21]
    check = 98 - int(_alnum_to_digits(base + "RF00")) % 97
    return f"RF{check:02d}{base}"


# --- EU VAT numbers and Swiss social security numbers -------------------------


def _mod_11_10(digits: str) -> str:
    """ISO 7064 Mod 11,10 (German USt-IdNr.)."""
    product = 10
    for d in digits:
        s = (int(d) + product) % 10 or 10
        product = (2 * s) % 11
    return str((11 - product) % 10)


def _luhn(digits: str) -> str:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def _at_uid_check(digits7: str) -> str:
    total = 0
    for i, d in enumerate(digits7):
        n = int(d) * (2 if i % 2 == 1 else 1)
        total += n // 10 + n % 10
    return str((6 - total) % 10)


def eu_vat(rng: Rng, country: str) -> str:
    r = _rng(rng)
    if country == "DE":
        body = str(r.randint(1, 9)) + _digits(r, 7)
        return "DE" + body + _mod_11_10(body)
    if country == "AT":
        body = _digits(r, 7)
        return "ATU" + body + _at_uid_check(body)
    if country == "FR":
        siren8 = str(r.randint(1, 9)) + _digits(r, 7)
        siren = siren8 + _luhn(siren8)
        key = (12 + 3 * (int(siren) % 97)) % 97
        return f"FR{key:02d}{siren}"
    if country == "IT":
        body = _digits(r, 7) + f"{r.randint(1, 100):03d}"
        return "IT" + body + _luhn(body)
    raise ValueError(f"no EU VAT number for {country}")


def ahv_number(rng: Rng) -> str:
    """Swiss social security number 756.1234.5678.97 (EAN-13 check digit)."""
    r = _rng(rng)
    body = "756" + _digits(r, 9)
    weights = [1 if i % 2 == 0 else 3 for i in range(12)]
    check = (10 - sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 10) % 10
    n = body + str(check)
    return f"{n[0:3]}.{n[3:7]}.{n[7:11]}.{n[11:13]}"


# --- Companies and people -----------------------------------------------------

_AREA_CODES = {
    "ZH": ("44", "43", "52"),
    "BE": ("31", "33", "32"),
    "BS": ("61",),
    "BL": ("61",),
    "LU": ("41",),
    "SG": ("71", "55"),
    "AG": ("56", "62"),
    "VD": ("21", "24"),
    "GE": ("22",),
    "FR": ("26",),
    "NE": ("32",),
    "VS": ("27",),
    "TI": ("91",),
    "GR": ("81",),
    "ZG": ("41",),
    "SO": ("32", "62"),
    "TG": ("52", "71"),
    "SH": ("52",),
    "SZ": ("55", "41"),
    "UR": ("41",),
    "NW": ("41",),
    "OW": ("41",),
    "GL": ("55",),
    "AR": ("71",),
    "AI": ("71",),
    "JU": ("32",),
}
_LEGAL_FORMS = {
    "de": (
        ("AG", 40),
        ("GmbH", 35),
        ("Einzelfirma", 13),
        ("Kollektivgesellschaft", 9),
        ("Genossenschaft", 3),
    ),
    "fr": (("SA", 45), ("Sàrl", 40), ("Raison individuelle", 10), ("SNC", 5)),
    "it": (("SA", 45), ("Sagl", 40), ("Ditta individuale", 10), ("SNC", 5)),
}
_HOTEL_NAMES = {
    "de": ("Krone", "Bären", "Löwen", "Rössli", "Sonne", "Engel", "Hirschen", "Adler"),
    "fr": ("du Lac", "de la Gare", "des Alpes", "du Parc", "de la Couronne"),
    "it": ("Centrale", "Bellavista", "della Posta", "Lago Maggiore", "Villa Castagnola"),
}


def _ascii_slug(text: str) -> str:
    # German umlauts become ae/oe/ue in Swiss domain names (sanitaer-gerber.ch).
    for umlaut, plain in (
        ("ä", "ae"),
        ("ö", "oe"),
        ("ü", "ue"),
        ("Ä", "Ae"),
        ("Ö", "Oe"),
        ("Ü", "Ue"),
    ):
        text = text.replace(umlaut, plain)
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return "".join(ch if ch.isalnum() else "-" for ch in folded).strip("-").replace("--", "-")


def _town(city: str) -> str:
    """'Wil SG' -> 'Wil', 'Biel/Bienne' -> 'Biel': what firms put into their names."""
    for suffix in (" ZH", " SG", " AG", " VD", " GE", " UR", " SZ"):
        city = city.removesuffix(suffix)
    return city.split("/")[0]


def _phone(r: random.Random, country: str, canton: str = "ZH") -> str:
    if country == "CH":
        area = r.choice(_AREA_CODES.get(canton, ("44",)))
        num = f"{r.randint(200, 999)} {r.randint(10, 99)} {r.randint(10, 99)}"
        return r.choice((f"+41 {area} {num}", f"0{area} {num}", f"+41 (0){area} {num}"))
    if country == "LI":
        return f"+423 {r.randint(230, 399)} {r.randint(10, 99)} {r.randint(10, 99)}"
    if country == "DE":
        return f"+49 {r.choice(('7531', '761', '711', '30', '89'))} {r.randint(10000, 999999)}"
    if country == "AT":
        return f"+43 {r.choice(('5574', '5572', '1', '662'))} {r.randint(10000, 999999)}"
    if country == "FR":
        return f"+33 {r.randint(1, 5)} {r.randint(10, 99)} {r.randint(10, 99)} " + (
            f"{r.randint(10, 99)} {r.randint(10, 99)}"
        )
    return f"+39 0{r.randint(2, 99)} {r.randint(100000, 9999999)}"


def _choose_weighted(r: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return r.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _swiss_name(r: random.Random, language: str, trade_key: str, town: str) -> tuple[str, str]:
    """(company name, legal form) in the style of the Swiss commercial register."""
    trade = TRADES[trade_key]
    word = trade.words[language]
    surnames = SURNAMES[language]
    s1, s2 = r.sample(surnames, 2)
    first = r.choice(FIRST_NAMES[language])[0]
    if trade_key in PROVIDER_NAMES:
        template = r.choice(PROVIDER_NAMES[trade_key])
        name = template.format(town=town)
        return name, "AG" if name.endswith("AG") else ("SA" if name.endswith("SA") else "")
    form = _choose_weighted(r, _LEGAL_FORMS[language])
    if trade_key == "hotel":
        base = f"{word} {r.choice(_HOTEL_NAMES[language])}"
        if form in ("AG", "GmbH", "SA", "Sàrl", "Sagl"):
            return f"{base} {town} {form}", form
        return base, form
    if form in ("Einzelfirma", "Raison individuelle", "Ditta individuale"):
        if language == "de":
            name = r.choice((f"{first} {s1} {word}", f"{word} {s1}"))
        else:
            name = r.choice((f"{word} {first} {s1}", f"{word} {s1}"))
        return name, form
    if form in ("Kollektivgesellschaft", "SNC"):
        return r.choice((f"{s1} & {s2} {word}", f"{word} {s1} & {s2}")), form
    if language == "de":
        patterns: tuple[str, ...] = (
            f"{s1} {word} {form}",
            f"{word} {s1} {form}",
            f"{s1} + {s2} {word} {form}",
            f"{word} {town} {form}",
        )
        if trade_key in ("elektro", "sanitaer"):
            patterns += (f"{s1} {word.lower().capitalize()}technik {form}",)
    elif language == "fr":
        patterns = (
            f"{word} {s1} {form}",
            f"{s1} {word} {form}",
            f"{s1} & Fils {form}",
            f"{word} {town} {form}",
        )
    else:
        patterns = (
            f"{word} {s1} {form}",
            f"{s1} {word} {form}",
            f"{s1} & Figli {form}",
            f"{word} {town} {form}",
        )
    return r.choice(patterns), form


def _foreign_name(r: random.Random, country: str, trade_key: str) -> tuple[str, str]:
    trade = TRADES[trade_key]
    s1 = r.choice(SURNAMES[country])
    if country in ("DE", "AT"):
        word = trade.words["de"]
        form = r.choice(
            ("GmbH", "GmbH & Co. KG", "AG", "e.K.")
            if country == "DE"
            else ("GmbH", "KG", "AG", "e.U.")
        )
        return f"{s1} {word} {form}", form
    if country == "FR":
        form = r.choice(("SARL", "SAS", "SA"))
        return f"{trade.words['fr']} {s1} {form}", form
    if country == "IT":
        form = r.choice(("S.r.l.", "S.p.A.", "S.n.c."))
        return f"{trade.words['it']} {s1} {form}", form
    form = r.choice(("AG", "Anstalt", "Establishment"))
    return f"{s1} {trade.words['de']} {form}", form


def _email_domain(name: str, country: str) -> str:
    words = [w for w in _ascii_slug(name).split("-") if len(w) > 2 and w not in _FORM_WORDS]
    tld = {"CH": "ch", "LI": "li", "DE": "de", "AT": "at", "FR": "fr", "IT": "it"}[country]
    return "-".join(words[:2]) + "." + tld


_FORM_WORDS = {
    "ag",
    "gmbh",
    "sa",
    "sarl",
    "sagl",
    "snc",
    "kg",
    "co",
    "e",
    "k",
    "u",
    "sas",
    "s",
    "r",
    "l",
    "p",
    "a",
    "n",
    "c",
    "genossenschaft",
    "anstalt",
    "establishment",
}


def random_company(
    rng: Rng,
    country: str = "CH",
    kind: str | None = None,
    language: str | None = None,
) -> Company:
    """A realistic company: name with legal form, real postcode/town, valid identifiers.

    `kind` is a trade key from `catalog.TRADES` (e.g. "elektro", "garage", "treuhand");
    None picks one with the weights of what a fiduciary's clients buy.
    `language` (CH only) picks the language region; otherwise it follows the town.
    """
    r = _rng(rng)
    trade_key = (
        kind
        or r.choices(list(SUPPLIER_TRADE_WEIGHTS), weights=list(SUPPLIER_TRADE_WEIGHTS.values()))[0]
    )
    if trade_key not in TRADES:
        raise ValueError(f"unknown trade {trade_key!r}; one of {sorted(TRADES)}")
    if country in ("CH",):
        places = [p for p in SWISS_PLACES if language in (None, "en", p[3])]
        postcode, city, canton, region_language = r.choice(places)
        name, form = _swiss_name(r, region_language, trade_key, _town(city))
        street = r.choice(STREETS[region_language])
        bank_iid, bank_name, _ = r.choice(
            [b for b in SWISS_BANKS if b[2] in ("*", region_language)]
        )
        if bank_name == "Raiffeisenbank":
            bank_name = f"Raiffeisenbank {_town(city)}"
        iban = swiss_iban(r, iid=bank_iid)
        has_qr_iban = r.random() < (0.25 if form in _SMALL_FORMS else 0.5)
        vat_registered = r.random() < (0.75 if form in _SMALL_FORMS else 0.97)
        if trade_key == "versicherung":
            vat_registered = False  # insurance premiums are exempt from VAT
        company = Company(
            name=name,
            street=street,
            house_no=_house_no(r),
            postcode=postcode,
            city=city,
            country="CH",
            uid=swiss_uid(r),
            iban=iban,
            qr_iban=qr_iban(r) if has_qr_iban else None,
            email="",
            phone=_phone(r, "CH", canton),
            language=region_language,
            trade=trade_key,
            legal_form=form,
            vat_registered=vat_registered,
            bank_name=bank_name,
        )
    else:
        postcode, city = r.choice(FOREIGN_PLACES[country])
        name, form = _foreign_name(r, country, trade_key)
        lang = {"DE": "de", "AT": "de", "LI": "de", "FR": "fr", "IT": "it"}[country]
        company = Company(
            name=name,
            street=r.choice(STREETS[country]),
            house_no=str(r.randint(1, 120)),
            postcode=postcode,
            city=city,
            country=country,
            uid=None,
            iban=foreign_iban(r, country),
            qr_iban=qr_iban(r, "LI") if country == "LI" and r.random() < 0.3 else None,
            phone=_phone(r, country),
            eu_vat=eu_vat(r, country) if country in ("DE", "AT", "FR", "IT") else None,
            language=lang,
            trade=trade_key,
            legal_form=form,
            bank_name={
                "DE": "Sparkasse",
                "AT": "Raiffeisenbank",
                "FR": "Crédit Mutuel",
                "IT": "Banca Popolare",
                "LI": "Liechtensteinische Landesbank AG",
            }[country],
        )
    domain = _email_domain(company.name, company.country)
    local = r.choice(("info", "info", "buchhaltung", "office", "rechnungen", "kontakt"))
    if company.language == "fr":
        local = r.choice(("info", "contact", "comptabilite", "factures"))
    elif company.language == "it":
        local = r.choice(("info", "contabilita", "amministrazione"))
    return replace(company, email=f"{local}@{domain}", website=f"www.{domain}")


_SMALL_FORMS = ("Einzelfirma", "Raison individuelle", "Ditta individuale")


def _house_no(r: random.Random) -> str:
    n = str(r.randint(1, 140))
    return n + (r.choice("abc") if r.random() < 0.08 else "")


def random_person(rng: Rng, language: str = "de") -> tuple[str, str, str]:
    """(first name, surname, "f"|"m") from the language region."""
    r = _rng(rng)
    lang = language if language in FIRST_NAMES else "de"
    first, gender = r.choice(FIRST_NAMES[lang])
    return first, r.choice(SURNAMES[lang]), gender


def salutation(gender: str, language: str) -> str:
    return {
        "de": ("Frau", "Herr"),
        "fr": ("Madame", "Monsieur"),
        "it": ("Signora", "Signor"),
        "en": ("Ms", "Mr"),
    }[language][0 if gender == "f" else 1]


def random_private_person(rng: Rng, language: str = "de") -> Company:
    """A private individual as an addressee (customer invoices, payslips)."""
    r = _rng(rng)
    lang = language if language in ("de", "fr", "it") else "de"
    first, last, gender = random_person(r, lang)
    places = [p for p in SWISS_PLACES if p[3] == lang]
    postcode, city, _, _ = r.choice(places)
    return Company(
        name=f"{first} {last}",
        street=r.choice(STREETS[lang]),
        house_no=_house_no(r),
        postcode=postcode,
        city=city,
        country="CH",
        uid=None,
        iban=swiss_iban(r),
        email=f"{_ascii_slug(first)}.{_ascii_slug(last)}@bluewin.ch",
        phone=f"07{r.choice('5689')} {r.randint(200, 999)} {r.randint(10, 99)} {r.randint(10, 99)}",
        language=lang,
        trade="private",
        legal_form="",
        vat_registered=False,
        contact=salutation(gender, lang),
    )


def random_client_company(rng: Rng, language: str | None = None) -> Company:
    """A fiduciary's client: a Swiss SME with UID, VAT registration and a contact person."""
    r = _rng(rng)
    company = random_company(r, "CH", kind=r.choice(CLIENT_TRADES), language=language)
    first, last, gender = random_person(r, company.language)
    return replace(
        company,
        vat_registered=True,
        contact=f"{salutation(gender, company.language)} {first} {last}",
    )
