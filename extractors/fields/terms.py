"""Due date and payment terms: `zahlbar bis 15.03.2026`, `30 Tage netto`, `net 30`,
`payable immediately`, S1 `/40/0:30`.

The payment term is the net term: a cash-discount period (`2 % Skonto innert 10 Tagen`) is
not it, nor a period counted from the due date (`Verzug 30 Tage nach Fälligkeit`).
"""

import re
from datetime import date, timedelta

from extractors.fields.dates import DateMatch, DateOrder, find_dates
from extractors.fields.labelled import Hit, compile_labels, find_labelled
from extractors.fields.labels import DUE_LABELS, TERMS_RE, fold_text
from extractors.layout import Line

DUE_RE = compile_labels(DUE_LABELS)

# A cash discount names its rate or its word next to its period ("2 % Skonto innert 10
# Tagen", "10 jours 2 % d'escompte").
_DISCOUNT = re.compile(
    r"skonto|escompte|sconto|discount|korting|descuento|desconto|rabatt|\d\s?%|%\s?\d"
)
# A period counted from the due date is about default interest or reminders, not a term.
_AFTER_DUE = re.compile(
    r"^\W{0,3}(?:nach\s+(?:f[aä]lligkeit|ablauf)|after\s+(?:the\s+)?due|past\s+due|"
    r"apr[eè]s\s+(?:l'|la\s+date\s+d')?[eé]ch[eé]ance|dopo\s+(?:la\s+)?scadenza|"
    r"na\s+(?:de\s+)?vervaldatum|despu[eé]s\s+del\s+vencimiento)"
)
_DEFAULT_WORDS = re.compile(
    r"(?<![a-z])(?:verzug\w*|mahn\w*|default|late|retard|mora|interest|zins\w*|inter[eê]ts?)(?![a-z])"
)
# US terms: "Net 30", "n/30", "2/10 net 30" (the usual periods only: "Net 30.00" is money).
_NET_N = re.compile(
    r"(?<![a-z])(?:net|n/)\s?(?P<days>7|10|14|15|20|21|28|30|45|60|90|120)"
    r"(?![\d.,'’])(?!\s*(?:chf|eur|usd|gbp|fr\b|\$|€|£))"
)
# "30 gg DF FM", "30 days end of month": due at the end of the month the period ends in.
_END_OF_MONTH = re.compile(
    r"[\s,.;:/-]{0,3}(?:d\.?\s?f\.?\s*)?(?:fine\s+mese|f\.?\s?m\.?(?![a-z])|"
    r"end\s+of\s+(?:the\s+)?month|eom(?![a-z])|ende\s+(?:des\s+)?monats?|monatsende|"
    r"fin\s+de\s+mois|einde\s+(?:van\s+de\s+)?maand|fin\s+de\s+mes)"
)
# Payable at once: the due date is the issue date.
_IMMEDIATE = re.compile(
    r"(?<![a-z])(?:zahlbar|zahlung|payable|payment|due|pagabile|pagamento|paiement|payer|betaalbaar|"
    r"betalen|betaling|pago|pagadero|a\s+pagar)[^\n.;]{0,30}?"
    r"(?:sofort|umgehend|immediately|immediate|upon\s+receipt|on\s+receipt|"
    r"[aà]\s+r[eé]ception|d[eè]s\s+r[eé]ception|imm[eé]diatement|a\s+vista|immediato|"
    r"immediatamente|al\s+ricevimento|onmiddellijk|al\s+contado|inmediato|"
    r"a\s+la\s+vista|a\s+la\s+recepci[oó]n|contant)(?![a-z])"
    r"|(?<![a-z])(?:sofort|umgehend|immediately)\s+(?:zahlbar|payable|f[aä]llig|due)"
    r"|(?<![a-z])(?:due|payable)\s+(?:up)?on\s+receipt"
    r"|(?<![a-z])rimessa\s+diretta"
)


def find_due_dates(lines: list[Line], order: DateOrder = "dmy") -> list[tuple[DateMatch, Hit]]:
    """Each date printed next to or under a due-date label, with where it was read."""
    out = []
    for hit in find_labelled(lines, DUE_RE):
        dates = find_dates(hit.text, order)
        if dates:
            out.append((dates[0], hit))
    return out


def _discount(folded: str, start: int, end: int) -> bool:
    """Whether the period at start..end is a cash-discount period: a discount word or rate
    within its clause, just before it or right after it."""
    clause_start = max(
        folded.rfind(sep, 0, start) for sep in (",", ";", "\n", ". ", " / ", "  ", " oder ")
    )
    before = folded[max(clause_start + 1, start - 30) : start]
    after = folded[end : end + 16]
    after = re.split(r"[,;\n]| oder | ou | o | or |\. ", after)[0]
    return bool(_DISCOUNT.search(before) or _DISCOUNT.search(after))


def find_term_days(text: str) -> list[tuple[int, str]]:
    """(days, matched text) for each net term: `innert 30 Tagen`, `30 jours net`,
    `30 days`, `net 30`; 0 for `payable immediately`. Cash-discount periods and periods
    counted from the due date are left out."""
    folded = fold_text(text)
    out = []
    spans = []
    for m in TERMS_RE.finditer(folded):
        spans.append((m.start(), m.end()))
        days = int(m.group("days"))
        if not 0 < days <= 180 or _discount(folded, m.start("days"), m.end()):
            continue
        before = folded[max(0, m.start() - 40) : m.start()].split("\n")[-1]
        if _AFTER_DUE.search(folded[m.end() : m.end() + 40]) or _DEFAULT_WORDS.search(before):
            continue
        eom = _END_OF_MONTH.match(folded, m.end())
        out.append((days, text[m.start() : eom.end() if eom else m.end()].strip()))
    for m in _NET_N.finditer(folded):
        if not any(s <= m.start() < e for s, e in spans):
            out.append((int(m.group("days")), text[m.start() : m.end()].strip()))
    for m in _IMMEDIATE.finditer(folded):
        out.append((0, text[m.start() : m.end()].strip()))
    return out


def end_of_month(printed: str) -> bool:
    """Whether a term as printed runs to the end of the month ("60 giorni DF FM")."""
    folded = fold_text(printed)
    days = re.search(r"\d+\s*[a-z]*\.?", folded)
    return bool(days and _END_OF_MONTH.search(folded, days.end()))


def due_from_terms(issue: date | None, days: int | None, *, month_end: bool = False) -> date | None:
    if issue is None or days is None:
        return None
    due = issue + timedelta(days=days)
    if month_end:
        following = date(due.year + due.month // 12, due.month % 12 + 1, 1)
        due = following - timedelta(days=1)
    return due
