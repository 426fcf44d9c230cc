"""What a party's name is not, and the labels that say whose block follows.

A company or shop name on a page is never a title or a field label, a date, an amount,
a phone number, an e-mail address or web link, an address line, or a string that is
mostly not letters (a logo OCR read as noise). `name_problem` says which of these a
candidate is. The label vocabularies (de/fr/it/en/nl/es) tell the issuer's block
("From", "Verkäufer", "Payable to") from the addressee's ("Bill to", "Rechnungsadresse",
"Factuuradres", "Facturar a"), and which lines carry the issuer's tax or register ids.
"""

import re
from functools import lru_cache

from extractors.fields.amounts import AMOUNT_RE
from extractors.fields.dates import find_dates
from extractors.fields.labels import (
    DUE_LABELS,
    INVOICE_NUMBER_LABELS,
    ISSUE_DATE_LABELS,
    NET_LABELS,
    TITLES,
    TOTAL_LABELS,
)
from extractors.fields.labels import fold_text as _fold_text

# A page's lines are judged several times over (as a letterhead, an address head, a
# repeat): the same strings come back.
fold_text = lru_cache(maxsize=8192)(_fold_text)


def _words(text: str) -> set[str]:
    return set(text.split())


# Legal forms across the languages and countries invoices come from. A name with one is
# a company's registered name, not a heading or a street.
LEGAL_FORM_RE = re.compile(
    # Short forms count as printed (upper case), so that "sa" or "ab" in a word do not.
    r"(?<![\w])(?:AG|SA|S\.A\.|SAS|SASU|EURL|SNC|KG|KGaA|OHG|GbR|UG|e\.K\.|e\.V\.|eG|SE|"
    r"S\.à\s?r\.l\.|S\.r\.l\.|S\.p\.A\.|Snc|BV|B\.V\.|NV|N\.V\.|VOF|S\.L\.|S\.L\.U\.|SL|SLU|"
    r"S\.A\.U\.|S\.C\.|Oy|AB|A/S|ApS|Pty|K\.K\.|L\.L\.C\.|Co\.|Cie\.?|SpA|SPA|"
    r"(?i:gmbh|ggmbh|mbh|sàrl|sarl|sagl|srl|ltd\.?|limited|pvt\.?|plc|llp|llc|inc\.?|"
    r"corp\.?|corporation|company|genossenschaft|stiftung|verein|einzelfirma|"
    r"& co\.?|& cie\.?|& figli|& fils|& söhne|& sons|& partner))(?![\w])"
)

# Words of a title or a field label, folded. With the titles of `labels.TITLES` they make
# a line that is only a heading: "INVOICE", "Tax Invoice", "Avoir AV-2017-0005",
# "Rechnungsnummer", "retail invoices/bill", "Order details".
_HEADING_WORDS = _words(
    """
    factuur factuurnummer factuurdatum creditnota creditfactuur herinnering aanmaning
    betalingsherinnering kassabon bon ontvangstbewijs kwitantie pakbon orderbevestiging
    factuuradres afleveradres leveradres vervaldatum debiteurnummer klantnummer
    factura facturas simplificada abono recibo albaran presupuesto recordatorio aviso
    proforma pro forma commercial retail sales purchase tax gst vat order orders details
    summary statement copy original duplicate triplicate duplicata duplikat kopie copie
    copia originale duplicato remittance advice payment receipts invoices bills receipt
    rechnungen rechnungsnummer rechnungsdatum rechnungsadresse lieferadresse lieferschein
    kundennummer kunden kundennr belegnummer belegdatum leistungsdatum lieferdatum seite
    page pagina blatt adresse address indirizzo direccion date datum data fecha
    number nummer numero nr no num ref reference referenz riferimento referencia
    due total totaal totale summe betrag montant importo importe amount subtotal
    customer client cliente klant kunde buyer seller vendor supplier lieferant
    fournisseur fornitore proveedor leverancier billing shipping delivery livraison
    consegna entrega levering facturation fatturazione facturacion de du des la le
    of the your our ihre unsere votre notre vostra nostra su uw onze for fur pour per para
    voor to an a au al bill ship sold deliver an issued bis id von sur di su van
    unit price qty quantity description item items pos menge preis einzelpreis bezeichnung
    artikel anzahl einheit prix quantite designation prezzo quantita descrizione articolo
    cantidad precio descripcion aantal prijs omschrijving excl incl exkl inkl hsn sac rate
    disc discount rabatt remise sconto descuento korting
    """
)
for _phrases in TITLES.values():
    for _phrase in _phrases:
        _HEADING_WORDS.update(re.findall(r"[a-z]+", fold_text(_phrase)))
# The words of the field labels ("Gesamtbetrag", "Rechnungsdatum", "Zahlbar bis"), taken
# from their patterns; short pieces of the pattern syntax are left out.
for _pattern in (
    *TOTAL_LABELS,
    *NET_LABELS,
    *DUE_LABELS,
    *ISSUE_DATE_LABELS,
    *INVOICE_NUMBER_LABELS,
):
    _HEADING_WORDS.update(w for w in re.findall(r"[a-z]+", _pattern) if len(w) >= 4)

# "Label:" at the start of a line: a field and its value, not a name.
_LABEL_COLON = re.compile(r"^\s*[^\W\d][^:]{0,28}?\s?:(?!//)\s*\S")
_GARBLE = re.compile(r"[{}\[\]|\\_<>=~^?¿*#«»“”„\"]")
# An e-mail address, a web link, or a contact word before its number or address.
_CONTACT = re.compile(
    r"@|www\.|https?:|(?<![\w])(?:tel|tél|telefon|telephone|téléphone|telefono|teléfono|phone|"
    r"ph\.?\s?no|fon|fax|mobile?|mob|natel|cell|handy|e-?mail|mail|courriel|tfno|tlf|web)"
    r"(?![\w])(?:\s*:|\.?\s*[+(\d]|\.?\s*$)",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:vielen\s+dank|besten\s+dank|danke|merci|grazie|thank\s+you|thanks|gracias|"
    r"bedankt|dank\s+u|herzlich|willkommen|bienvenue|benvenut|welcome|bienvenido)",
    re.IGNORECASE,
)
_PHONE = re.compile(r"\+?\(?\d[\d\s()./-]{6,}\d")
_CLOCK = re.compile(r"\b\d{1,2}[:h]\d{2}\b")
# Numeric dates in any order of day and month (US layouts print month first).
_DATE_LIKE = re.compile(r"(?<!\d)\d{1,4}\s?[./-]\s?\d{1,2}\s?[./-]\s?\d{2,4}(?!\d)")
_DECIMAL = re.compile(r"(?<![\d.,'’])\d{1,3}(?:[.,'’ ]\d{3})*[.,]\d{2}(?![\d])")

_STREET_WORDS = (
    r"strasse|straße|str|weg|gasse|platz|allee|ring|ufer|damm|gässli|rain|halde|matte|"
    r"chaussee|street|st|road|rd|avenue|ave|av|drive|dr|lane|ln|way|boulevard|blvd|parkway|"
    r"pkwy|court|ct|square|sq|highway|hwy|suite|ste|floor|fl|building|bldg|tower|unit|"
    r"rue|chemin|ch|route|rte|place|pl|bd|quai|impasse|allée|via|viale|piazza|piazzale|"
    r"corso|vicolo|strada|largo|straat|laan|gracht|plein|kade|singel|dijk|steeg|calle|c|"
    r"avenida|avda|plaza|paseo|carrera|camino|carretera|nagar|marg|chowk|rua|travessa|praca"
)
_STREET_TOKEN = re.compile(rf"(?<![\w])(?:{_STREET_WORDS})\.?(?![\w])", re.IGNORECASE)
_STREET_SUFFIX = re.compile(
    r"[a-zà-ÿ]{3,}(?:strasse|straße|str\.|weg|gasse|platz|allee|ring|straat|laan|gracht|"
    r"plein|kade|dijk)(?![\w])",
    re.IGNORECASE,
)
# Street words that are never a title or an abbreviation of one ("Dr.", "St.").
_PLAIN_STREET = re.compile(
    r"(?<![\w])(?:strasse|straße|gasse|street|road|avenue|drive|lane|boulevard|parkway|tower|"
    r"building|floor|rue|chemin|route|place|quai|impasse|via|viale|piazza|corso|straat|laan|"
    r"plein|calle|avenida|plaza|paseo|rua|house|centre|center|park|estate|chambers)(?![\w])",
    re.IGNORECASE,
)
_HOUSE_NUMBER = re.compile(r"(?<![\w.,])\d{1,5}(?:\s?[a-zA-Z]{1,2})?(?![\w.,]?\d)")
_POBOX = re.compile(
    r"\b(?:postfach|case\s+postale|casella\s+postale|p\.?\s?o\.?\s+box|post\s+office\s+box|"
    r"postbus|apartado|b\.?p\.?\s+\d)",
    re.IGNORECASE,
)
_TOWN_LINES = [
    # 8001 Zürich, CH-8001, D-80333, 88802Spielkreis, F-75001 Paris
    re.compile(r"^(?:[A-Z]{1,2}[-\s])?\d{4,5}\s?-?\s?[A-ZÀ-Ýa-zà-ÿ]"),
    # Redmond, WA 98052 · New York, NY, 10001 · Redmond WA, 98052
    re.compile(r"\b[A-Z]{2},?\s+\d{4,5}(?:-\d{4})?\s*$"),
    # 1012 AB Amsterdam (nl)
    re.compile(r"^\d{4}\s?[A-Z]{2}(?:\s|$)"),
    # RG6 1WG (uk)
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b"),
    # Bangalore 560001, Bangalore - 560001 (in)
    re.compile(r"[A-Za-z]\s*[-,]?\s*\d{6}\s*$"),
]
COUNTRIES = _words(
    """
    schweiz suisse svizzera switzerland deutschland germany allemagne germania alemania
    osterreich austria autriche france frankreich francia italia italien italie italy
    liechtenstein nederland netherlands niederlande pays-bas espana spain spanien espagne
    spagna belgique belgie belgium belgien belgio luxembourg luxemburg usa u.s.a. uk
    england india indien inde ireland irland portugal polen poland danemark denmark
    sweden schweden
    """
) | {"united states", "united states of america", "united kingdom", "great britain"}
_RECIPIENT_WORDS = re.compile(
    r"(?<![a-z])(?:ihre|ihr|kunden|kunde|empfanger|votre|vos|client|vostr[ao]|cliente|your|"
    r"customer|buyer|klant|uw|destinatario|destinataire|acquirente|comprador|koper|party)"
)


def is_contact(text: str) -> bool:
    """A phone, fax, e-mail or web line."""
    return bool(_CONTACT.search(text))


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def is_country(text: str) -> bool:
    return fold_text(text.strip().strip(".,")) in COUNTRIES


@lru_cache(maxsize=8192)
def is_address_line(text: str) -> bool:
    """A street with its number, a P.O. box, a postcode with its town, or a country."""
    text = text.strip()
    if is_country(text) or _POBOX.search(text):
        return True
    if any(p.search(text) for p in _TOWN_LINES):
        return True
    has_number = bool(_HOUSE_NUMBER.search(text))
    street = bool(_STREET_TOKEN.search(text) or _STREET_SUFFIX.search(text))
    return has_number and street


def is_address_tail(text: str) -> bool:
    """The part after a name on a one-line letterhead: an address or contact detail, also
    without a house number ("Maison X, Place de Gaulle")."""
    text = text.strip()
    return bool(text) and bool(
        is_address_line(text)
        or _STREET_TOKEN.search(text)
        or _STREET_SUFFIX.search(text)
        or _CONTACT.search(text)
        or _PHONE.search(text)
        or re.search(r"\d", text)
    )


def is_heading(text: str) -> bool:
    """Only title and label words, with numbers or codes at most: "Invoice", "Avoir
    AV-2017-0005", "Rechnung Nr. 12", "Tax Invoice", "Order Details"."""
    # Only whole tokens without digits count: "RE1001" and "AV-2017-0005" are codes.
    tokens = [t for t in re.split(r"[\s/,;:()]+", fold_text(text)) if t]
    named = [t for t in tokens if not re.search(r"\d", t) and re.search(r"[a-z]", t)]
    return bool(named) and all(_heading_word(re.sub(r"[^a-z]", "", t)) for t in named)


def _heading_word(word: str) -> bool:
    if not word:
        return True
    if word in _HEADING_WORDS:
        return True
    # Plurals and inflections: invoices, rechnungen, facturas, factures.
    for suffix in ("s", "es", "en", "n", "e", "i"):
        if word.endswith(suffix) and word[: -len(suffix)] in _HEADING_WORDS:
            return True
    return False


_PARTICLES = {"de", "la", "di", "da", "du", "von", "van", "of", "y", "e", "et", "le", "do"}


def _broken_capitals(tokens: list[str]) -> bool:
    """A name set in capitals that OCR broke apart: "co NTOSO"."""
    caps = any(len(t) >= 3 and t.isalpha() and t.isupper() for t in tokens)
    stray = any(t.isalpha() and t.islower() and len(t) <= 2 and t not in _PARTICLES for t in tokens)
    return caps and stray


def name_problem(text: str, ocr_conf: float | None = None) -> str | None:
    """Why `text` cannot be a party's name, or None when it can.

    `ocr_conf` is the mean OCR confidence of its words (None for the text layer).
    """
    text = text.strip()
    if not text:
        return "empty"
    if ocr_conf is not None and ocr_conf < 60:
        return "illegible"
    n_letters = letters(text)
    visible = len(re.sub(r"\s", "", text))
    legal = bool(LEGAL_FORM_RE.search(text))
    if n_letters < 3 and not (legal and n_letters >= 2):
        return "too short"
    if n_letters < 5 and text == text.lower():
        return "too short"  # a stray lower-case fragment, not a name
    if n_letters < 0.6 * visible:
        return "mostly not letters"
    if _GARBLE.search(text) or text.count("(") != text.count(")"):
        return "garbled"
    tokens = text.split()
    if _broken_capitals(tokens):
        return "garbled"
    if len(tokens) >= 3 and sum(len(t) <= 2 for t in tokens) >= 0.6 * len(tokens) and not legal:
        return "spaced letters"
    if _CONTACT.search(text):
        return "contact"
    if find_dates(text) or _DATE_LIKE.search(text) or _CLOCK.search(text):
        return "date"
    if AMOUNT_RE.search(text) or _DECIMAL.search(text):
        return "amount"
    if _PHONE.search(text) and sum(ch.isdigit() for ch in text) >= 7:
        return "phone"
    if _LABEL_COLON.match(text):
        return "label"
    if is_heading(text):
        return "heading"
    if LEGAL_FORM_RE.sub("", text).strip(" .,&") == "":
        return "legal form only"
    # "5200 Brugg AG": a postcode and a town with its canton, not a company.
    if is_address_line(text) and (not legal or _TOWN_LINES[0].match(text)):
        return "address"
    if len(tokens) > 8 or _GREETING.match(text):
        return "sentence"
    if text.endswith(("!", "?")):
        return "sentence"
    return None


_SEPARATORS = re.compile(r"\s+[·•●|–—:-]\s+|\s*[·•●|]\s*|,\s+")


def split_parts(text: str) -> list[str]:
    """A one-line letterhead or return address cut into its parts."""
    return [p.strip() for p in _SEPARATORS.split(text) if p.strip()]


def name_part(text: str) -> str:
    """The name at the start of a line that goes on with an address or contact details:
    "Muster AG · Bahnhofstr. 1 · 8001 Zürich" -> "Muster AG",
    "Maison X, Place de Gaulle" -> "Maison X". Anything else is returned unchanged."""
    parts = split_parts(text)
    if len(parts) < 2:
        return text.strip()
    head = parts[0]
    # "Müller, Meier & Partner AG": the comma belongs to the name unless an address follows.
    if all(is_address_tail(p) for p in parts[1:2]):
        return head
    return text.strip()


@lru_cache(maxsize=8192)
def name_in(text: str, ocr_conf: float | None = None) -> str | None:
    """The party name a printed segment gives, or None: "Muster AG · Bahnhofstr. 1" gives
    "Muster AG"; "Datum: 1.2.2026", "INVOICE" or "Bahnhofstr. 1" give nothing."""
    if _LABEL_COLON.match(text):
        return None
    columns = [c for c in re.split(r"\s{2,}", text.strip()) if c]
    if len(columns) > 1:
        # Two columns read as one: "CONTOSO LTD.  INVOICE", "Rechnung 12  Muster AG".
        return next((n for c in columns if (n := name_in(c, ocr_conf))), None)
    raw = text.lstrip(" '\"‘’“”„.,;:·•*|-").rstrip(" '\"‘’“”„,;:·•*|-")
    if _GARBLE.search(name_part(raw)):
        return None
    if find_dates(raw) or _DATE_LIKE.search(raw):
        return None  # "February 17, 2026" is not "February 17" before an address
    legal = bool(LEGAL_FORM_RE.search(raw))
    town = _TOWN_LINES[0].match(raw) or any(p.search(raw) for p in _TOWN_LINES[1:])
    if (not legal or _TOWN_LINES[0].match(raw)) and len(split_parts(raw)) <= 2 and town:
        return None  # "Redmond, WA 98052": a town line, not a name before an address
    name = clean_name(name_part(raw))
    forms = list(LEGAL_FORM_RE.finditer(name))
    if forms and is_address_tail(name[forms[-1].end() :].strip(" ,;:-·")):
        # The name ends with its legal form: "Muster GmbH Goethestrasse 69" is a return
        # line whose first dot OCR lost.
        name = name[: forms[-1].end()]
    if name_problem(name, ocr_conf):
        return None
    if name != raw and _PLAIN_STREET.search(name) and not LEGAL_FORM_RE.search(name):
        return None  # "Windsor Tower, 12th Floor": the address's first part
    return name


def clean_name(name: str) -> str:
    """OCR puts quotes, bars and dots around a letterhead and between its spaced letters:
    keep the name itself."""
    name = re.sub(r"(?<=\w)\s+[.,·:;'’]\s+(?=\w)", " ", name)
    return re.sub(r"^[^\wÀ-ÿ&(]+|[^\wÀ-ÿ.)&]+$", "", name).strip() or name.strip()


@lru_cache(maxsize=8192)
def name_key(text: str) -> str:
    """Letters and digits only, folded: "U.S.A., Inc." and "U.S.A, Inc." are one name."""
    return re.sub(r"[^a-z0-9]", "", fold_text(text))


def has_recipient_word(folded: str) -> bool:
    return bool(_RECIPIENT_WORDS.search(folded))


# The issuer's block: "From:", "Von:", "Verkäufer", "Seller", "Payable to", "Lieferant".
# Short words that are also prepositions (de, da, van, von, from) count with a colon only.
SELLER_LABEL_RE = re.compile(
    r"^\s*(?:(?:from|von|de|da|van|door)\s*:|"
    r"(?:absender|verkaufer|lieferant|rechnungssteller|leistungserbringer|zahlungsempfanger|"
    r"seller|supplier|vendor|sold\s+by|issued\s+by|bill(?:ed)?\s+from|invoice\s+from|"
    r"payable\s+to|pay\s+to|make\s+(?:cheques|checks)\s+payable\s+to|beneficiary|"
    r"zahlbar\s+an|expediteur|emetteur|fournisseur|vendeur|prestataire|payable\s+a|"
    r"beneficiaire|fornitore|venditore|mittente|cedente(?:\s*/\s*prestatore)?|prestatore|"
    r"emittente|pagabile\s+a|beneficiario|proveedor|vendedor|emisor|emitido\s+por|"
    r"leverancier|verkoper|afzender|uitgegeven\s+door|begunstigde)(?![a-z])\s*:?)",
)
# The addressee's block: "Bill to", "Rechnungsadresse", "Factuuradres", "Facturar a";
# "To:" / "An:" (an e-mail's or a two-column layout's) with a colon only.
ADDRESSEE_LABEL_RE = re.compile(
    r"^\s*(?:(?:to|an|aan|para)\s*:|"
    r"(?:bill(?:ed)?|invoice[d]?|sold|ship(?:ped)?|deliver(?:ed)?|charge)\s*-?\s*to|"
    r"invoice\s+for|delivery\s+address|billing\s+address|shipping\s+address|customer(?:\s+name)?|"
    r"client|buyer|consignee|recipient|attention|attn|party(?:'s)?(?:\s+name)?|"
    r"kunde|rechnungsadresse|rechnungsempfanger|lieferadresse|lieferanschrift|"
    r"leistungsempfanger|empfanger|kaufer|auftraggeber|zahlbar\s+durch|"
    r"adresse\s+de\s+(?:facturation|livraison)|facture\s+a|factures?\s+a|destinataire|"
    r"acheteur|livre\s+a|livraison|payable\s+par|indirizzo\s+di\s+(?:fatturazione|consegna)|"
    r"destinatario|acquirente|cliente|spett\.?(?:le)?|pagabile\s+da|intestatario|"
    r"factuuradres|afleveradres|leveradres|klant|koper|facturar\s+a|facturado\s+a|"
    r"enviar\s+a|direccion\s+de\s+(?:facturacion|envio|entrega)|comprador)"
    r"(?![a-z])(?!\s*[-.]?\s*(?:nr|nummer|no|n°|number|id|code|#|numero|num|ref|reference|"
    r"referenz|p\.?\s?o\b|order|account|acct|vat|tax|gst|gstin|uid|mwst|tva|iva)(?![a-z]))\s*:?"
)
# Where the issuer's identifiers are printed. A tax or register number label counts with
# its number ("MWST CHE-…", "USt-IdNr. DE…", "GSTIN: 27…"; "MWST 8.1 %" is a VAT line);
# the registered office and the management count as words.
_TAX_ID_LABEL_RE = re.compile(
    r"(?<![a-z])(?:mwst|mehrwertsteuer|ust|ust-?id(?:nr)?|ust\.?-?idnr|umsatzsteuer|uid|ide|idi|"
    r"vat|tva|iva|btw|gstin|gst|cin|tax\s*id|tax\s*no|steuer\s*-?nr|steuernummer|hrb|hra|"
    r"company\s+(?:no|number|reg)|reg(?:istration)?\.?\s*no|kvk|siret|siren|rcs|p\.?\s?iva|"
    r"partita\s+iva|codice\s+fiscale|cif|nif|abn|ein|pan)(?![a-z])"
)
_REGISTER_WORDS_RE = re.compile(
    r"(?<![a-z])(?:handelsregister|registergericht|amtsgericht|sitz\s+der\s+gesellschaft|"
    r"sitz|siege\s+social|sede\s+legale|registered\s+office|registered\s+in|"
    r"geschaftsfuhrer|geschaftsfuhrung|gerant|amministratore|managing\s+director|"
    r"handelsregisternummer|kamer\s+van\s+koophandel)(?![a-z])"
)


def id_label_at(folded: str) -> int | None:
    """Where a tax/register id (with its number) or a registered-office line starts."""
    for m in _TAX_ID_LABEL_RE.finditer(folded):
        rest = folded[m.end() : m.end() + 30]
        if "%" in rest or AMOUNT_RE.search(rest):
            continue
        if sum(ch.isdigit() for ch in rest) >= 6:
            return m.start()
    register = _REGISTER_WORDS_RE.search(folded)
    return register.start() if register else None
