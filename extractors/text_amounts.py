"""Amounts read from the page text: the total, its currency, the net amount and the VAT
lines (rates, bases, amounts), offered to a `FieldSet` with the confidence their labels and
arithmetic earn.

The total is the gross amount payable for this document: the last, most explicit total
label of the amounts block ("Total incl. VAT", "Gesamtbetrag", "Amount due", "Totaal"),
never a tax, subtotal or net line, never a balance that carries earlier invoices or
payments along. Where net + tax = a candidate, that candidate wins and is trusted; a
total chosen among rivals without such a check is trusted less. On a till receipt the
amount paid printed below the total confirms it, and the VAT table gives a total whose line
OCR lost (docs/decisions/0010-a-second-fact-before-a-total-posts.md).
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.enums import DocType
from domain.extraction import VatLine
from domain.money import to_money
from extractors.field_set import Doc, FieldSet, box_of, ocr_factor, span_box
from extractors.fields.amounts import AmountMatch, find_amounts, find_currencies
from extractors.fields.labelled import compile_labels
from extractors.fields.labels import (
    NET_LABELS,
    PREVIOUS_BALANCE_LABELS,
    TENDER_RE,
    TOTAL_LABELS,
    VAT_WORDS_RE,
    fold_text,
)
from extractors.fields.vat import (
    VatFound,
    find_vat_lines,
    find_vat_table,
    split_by_items,
    split_included,
    vat_matches,
)
from extractors.layout import Line
from extractors.reading import Classification

NET_RE = compile_labels(NET_LABELS)
_TOTAL_STRONG = re.compile(
    r"(?<![a-z])(?:gesamttotal|gesamtbetrag|rechnungsbetrag|endbetrag|zu\s+bezahlen|zahlbetrag|"
    r"total\s+(?:chf|eur|usd|gbp|inr|fr\.?|sfr\.?|inkl|incl|ttc|a\s+payer|da\s+pagare|due|"
    r"gutschrift|offen)|"
    r"montant\s+total|total\s+[aà]\s+payer|[aà]\s+payer|importo\s+(?:totale|da\s+pagare)|"
    r"da\s+pagare|amount\s+due|total\s+due|grand\s+total|totale\s+(?:fattura|chf|eur)|"
    r"totale?\s+(?:mwst|tva|iva|vat)\s+(?:inkl|incl|inclus[ea]?|compris[e]?)|"
    r"total(?:e|betrag)?\s+(?:inkl|incl|inclus[ea]?)|zu\s+ihren\s+gunsten|credit\s+amount|"
    r"summe\s+brutto|totalbetrag|a\s+vostro\s+favore|en\s+votre\s+faveur|"
    r"offener\s+betrag|total\s+offen|montant\s+d[uû]|importo\s+dovuto|amount\s+outstanding|"
    r"betrag\s+zu\s+ihren\s+gunsten|gutschriftsbetrag|montant\s+(?:de\s+l'avoir|cr[eé]dit[eé])|"
    r"importo\s+accreditato|credit\s+amount|total\s+credit|nettolohn|salaire\s+net|"
    r"salario\s+netto|net\s+(?:pay|salary)|auszahlung|versement|neuer\s+saldo|nouveau\s+solde|"
    r"saldo\s+finale|closing\s+balance|"
    # beyond Swiss layouts: de / en / nl / es
    r"gesamtsumme|endsumme|rechnungssumme\s+brutto|zu\s+zahlen(?:der\s+betrag)?|"
    r"balance\s+due|(?:amount|total)\s+payable|due\s+payable|invoice\s+total|"
    r"te\s+betalen|te\s+voldoen|totaalbedrag|factuurbedrag|importe\s+total|total\s+a\s+pagar|"
    r"total\s+factura|totale\s+documento|netto\s+a\s+pagare)(?![a-z])"
)
TOTAL_RE = compile_labels(TOTAL_LABELS)
_NOT_TOTAL = re.compile(
    r"(?<![a-z])(?:zwischen|sub|sous|exkl|excl|ohne|netto(?!lohn)|ht(?![a-z])|imponibile|"
    r"mwst|mwst\.|tva|iva|vat|ust|rabatt|remise|sconto|discount|skonto|porto|versand|"
    r"net(?![a-z])|total\s+(?:positionen|lignes)|anzahl|quantit|menge|"
    r"tax|taxes|b\.?t\.?w|[csi]?gst|utgst|steuer|subtotaal|exclusief|taxable|base\s+imponible|"
    r"tip|trinkgeld|pourboire|mancia|shipping|freight|handling|fracht|frais\s+de\s+port|"
    r"spedizione|verzendkosten|envio)"
)
# A total or an amount said to include the tax is the gross total, whatever tax word
# follows ("Total incl. VAT", "Montant TTC", "Betrag inkl. MwSt."); "brutto" / "gross"
# only with a total word ("Summe brutto"): a "gross amount" may come before a discount.
_INCL = re.compile(
    r"(?<![a-z])(?:incl|inkl|inclus|inclusive|including|compris|ttc|after\s+tax|with\s+tax|"
    r"iva\s+incluida|iva\s+inclusa|con\s+iva)(?![a-z])"
)
_INCL_VAT = re.compile(
    r"(?<![a-z])(?:incl|inkl|including)\.?\s*(?:mwst|ust|vat|tva|iva|btw|tax)(?![a-z])"
)
_BRUTTO = re.compile(r"(?<![a-z])(?:brutto|gross)(?![a-z])")
_TOTAL_WORD = re.compile(r"(?<![a-z])(?:total|totale|totaal|gesamt|summe|grand)")
_AMOUNT_WORD = re.compile(r"(?<![a-z])(?:betrag|amount|montant|importo|importe|bedrag)")
_GENERIC = re.compile(
    r"^(?:betrag|montant|importo|importe|amount|bedrag|saldo|gutschrift|ausstehend)$"
)
PREV_RE = compile_labels(PREVIOUS_BALANCE_LABELS)
# Payments already made: a balance after them is what is left, not the document's total.
_PAID_RE = re.compile(
    r"(?<![a-z])(?:(?:amount\s+)?paid|payments?(?:\s+received)?"
    r"(?!\s+(?:due|terms|date|method|reference|details|conditions|instructions|mode|slip))|"
    r"bereits\s+bezahlt|anzahlung|akontozahlung|acompte|d[eé]j[aà]\s+(?:pay[eé]|r[eé]gl[eé])|"
    r"acconto|gi[aà]\s+pagato|deposit|betaald|aanbetaling|pagado|anticipo)(?![a-z])"
)
# Few words and an amount alone below them: a label whose value OCR put on its own line.
_LONE_LABEL_WORDS = 4

_PAYOUT_RE = re.compile(
    r"(?<![a-z])(?:auszahlung|versement|pagamento|payout|nettolohn|salaire\s+net|salario\s+netto|"
    r"net\s+salary)(?![a-z])"
)
_CLOSING_RE = re.compile(
    r"(?<![a-z])(?:schlusssaldo|neuer\s+saldo|solde\s+final|nouveau\s+solde|saldo\s+finale|"
    r"closing\s+balance)(?![a-z])"
)
_CENT = Decimal("0.02")
_ZERO = Decimal(0)
# Base confidence of a total by how its label reads.
_TIER_CONF = {"strong": 0.8, "plain": 0.65, "generic": 0.6, "below": 0.45, "special": 0.8}
_TIER_SCORE = {"strong": 2.0, "plain": 1.0, "generic": 0.8, "below": 0.5}
# A total summed from the VAT table's rows: as sure as a plainly labelled one when the sum
# is printed elsewhere too, for a person to confirm when it is not.
# A till slip's paid amount agreeing with its total (`_paid_below`), and how far below
# the total the payment line may stand.
TENDER_AGREES = 0.17
_TENDER_LINES = 3
DERIVED_TOTAL_CONF = 0.85
DERIVED_TOTAL_ALONE_CONF = 0.6
VAT_TABLE_SOURCE = "vat_table"


@dataclass
class _Cand:
    score: float
    value: Decimal
    cur: str | None
    line: Line
    start: int
    end: int
    index: int
    tier: str
    checked: bool = False


def _line_amounts(line: Line) -> list[AmountMatch]:
    return find_amounts(line.text)


def money(
    fs: FieldSet, doc: Doc, lines: list[Line], issue: date | None, cls: Classification
) -> None:
    special = {DocType.PAYSLIP: _PAYOUT_RE, DocType.BANK_STATEMENT: _CLOSING_RE}.get(cls.doc_type)
    found = find_vat_table(lines, issue) or find_vat_lines(
        lines, issue, included=cls.doc_type is DocType.RECEIPT
    )
    if special is not None:
        candidates = _special_candidates(lines, special)
        nets: list[Decimal] = []
    else:
        candidates, nets = _total_candidates(lines, found)
    winner = _pick_total(fs, candidates, cls, lines)
    _offer_currency(fs, lines, winner)
    if nets:
        fs.net = nets[0]
        if winner is not None and winner.checked:
            taxes = _tax_sums(lines, found)
            fs.net = next(
                (n for n in nets for t in taxes if abs(n + t - abs(winner.value)) <= _CENT),
                nets[0],
            )
    if found:
        _offer_vat(fs, lines, found)
        if winner is None and special is None:
            _total_from_vat_table(fs, lines, found)


# --- the total ----------------------------------------------------------------------------


def _special_candidates(lines: list[Line], special: re.Pattern[str]) -> list[_Cand]:
    out = []
    for i, line in enumerate(lines):
        m = special.search(fold_text(line.text))
        amounts = [a for a in _line_amounts(line) if m and a.start >= m.start()]
        if m and amounts:
            a = amounts[-1]
            # The payout row comes after the net salary; the bold closing row last.
            out.append(
                _Cand(3.0 + 0.001 * i, a.value, a.currency, line, a.start, a.end, i, "special")
            )
    return out


def _total_candidates(
    lines: list[Line], found: list[VatFound]
) -> tuple[list[_Cand], list[Decimal]]:
    """Every labelled total of the page (scored), and the net amounts printed."""
    candidates: list[_Cand] = []
    adjustments: list[tuple[int, Decimal]] = []
    nets: list[Decimal] = []
    net_lines: list[tuple[int, Line, AmountMatch]] = []
    paid_lines: list[tuple[int, Line, AmountMatch]] = []
    for i, line in enumerate(lines):
        folded = fold_text(line.text)
        amounts = _line_amounts(line)
        paid = _PAID_RE.search(folded)
        if paid and _TOTAL_WORD.search(folded[: paid.start()]):
            paid = None  # "Total paid" on a receipt is its total
        carried = PREV_RE.search(folded) or paid
        if carried:
            after = [a for a in amounts if a.start >= carried.start()]
            if after and after[-1].value != 0:
                adjustments.append((i, abs(after[-1].value)))
                if paid:
                    paid_lines.append((i, line, after[-1]))
            continue
        net = _net_label(folded)
        if net is not None:
            after = [a for a in amounts if a.start >= net.start()]
            if after:
                nets.append(abs(after[-1].value))
                net_lines.append((i, line, after[-1]))
        strong = _TOTAL_STRONG.search(folded)
        weak = TOTAL_RE.search(folded)
        incl = None if strong or weak else _incl_vat_label(folded)
        label = strong or weak or incl
        if label is None:
            continue
        after = [a for a in amounts if a.start >= label.start()]
        head = folded[: after[0].start] if after else folded
        gross = _is_gross(head)
        if not (strong or gross or incl) and _NOT_TOTAL.search(folded[: label.end() + 12]):
            continue
        if strong or gross:
            tier = "strong"
        elif _GENERIC.match(" ".join(label.group(0).split())):
            tier = "generic"
        else:
            tier = "plain"
        line_for, amount = line, after[-1] if after else None
        if amount is None:
            below = _value_below(lines, i)
            if below is None:
                continue
            line_for, amount = below
            tier = "below"
        score = _TIER_SCORE[tier] + 0.001 * i + (0.3 if line.size and _is_big(line, lines) else 0)
        candidates.append(
            _Cand(score, amount.value, amount.currency, line_for, amount.start, amount.end, i, tier)
        )
    candidates = _drop_carried(candidates, adjustments)
    if not candidates and paid_lines:
        # A receipt that names only what was paid: that is its total, weakly labelled.
        i, line, a = paid_lines[-1]
        score = _TIER_SCORE["generic"] + 0.001 * i
        candidates.append(_Cand(score, a.value, a.currency, line, a.start, a.end, i, "generic"))
    taxes = _tax_sums(lines, found)
    for i, line, a in net_lines:
        # "Net amount" that is another net amount plus the tax is the amount payable (an
        # Indian bill's last line): the arithmetic, not the word, says it is gross.
        others = [abs(b.value) for j, _line, b in net_lines if j != i]
        if any(abs(n + t - abs(a.value)) <= _CENT for n in others for t in taxes if t > 0):
            score = _TIER_SCORE["plain"] + 0.001 * i
            candidates.append(_Cand(score, a.value, a.currency, line, a.start, a.end, i, "plain"))
    for c in candidates:
        c.checked = any(abs(n + t - abs(c.value)) <= _CENT for n in nets for t in taxes)
        if c.checked:
            # net + tax = this amount: the arithmetic outweighs a more explicit label.
            c.score += 1.5
    return candidates, nets


def _incl_vat_label(folded: str) -> re.Match[str] | None:
    """A short label ending in "incl. VAT" over an amount ("Netto inkl. MWST 1'756.05",
    "Endpreis inkl. USt."): the gross, not a VAT line (that one names its rate)."""
    m = _INCL_VAT.search(folded)
    if m is None or "%" in folded or len(folded[: m.start()].split()) > 1:
        return None
    return m


def _is_gross(head: str) -> bool:
    total_word = bool(_TOTAL_WORD.search(head))
    if _INCL.search(head):
        return total_word or bool(_AMOUNT_WORD.search(head))
    return total_word and bool(_BRUTTO.search(head))


def _net_label(folded: str) -> re.Match[str] | None:
    m = NET_RE.search(folded)
    if m is None or re.search(r"mwst|tva|iva|vat|ust|tax|btw|gst", folded[: m.start()]):
        return None
    if _INCL.search(folded) or _TOTAL_STRONG.search(folded):
        return None  # "Netto inkl. MWST" is a gross amount
    return m


def _value_below(lines: list[Line], i: int) -> tuple[Line, AmountMatch] | None:
    """A short label line ("Total", "TOTAL DUE") whose amount OCR put on a line of its own:
    the next line, or the one before when it stands level with the label (a value printed
    a little higher). A column header ("Description  Qty  Price  Total") has more words
    and gets nothing."""
    line = lines[i]
    if len(line.text.split()) > _LONE_LABEL_WORDS:
        return None
    height = max(1.0, line.bottom - line.top)
    middle = (line.top + line.bottom) / 2
    for j in (i + 1, i - 1):
        if not 0 <= j < len(lines) or lines[j].page != line.page:
            continue
        other = lines[j]
        if j > i and other.top - line.bottom > 2.5 * height:
            continue
        if j < i and (abs((other.top + other.bottom) / 2 - middle) > height or other.x0 < line.x1):
            continue
        amounts = _line_amounts(other)
        if len(amounts) != 1:
            continue
        rest = other.text[: amounts[0].start] + other.text[amounts[0].end :]
        if sum(ch.isalpha() for ch in rest) > 3:
            continue  # an item row, not a value standing alone
        return other, amounts[0]
    return None


def _drop_carried(candidates: list[_Cand], adjustments: list[tuple[int, Decimal]]) -> list[_Cand]:
    """Drop balances that carry an earlier balance or a payment along: a candidate below
    such a line that equals an earlier candidate plus or minus it, and zero balances
    when anything else is left."""
    out = []
    for c in candidates:
        carried = False
        for j, adj in adjustments:
            if j >= c.index:
                continue
            earlier = [o for o in candidates if o.index < c.index]
            if any(
                abs(abs(c.value) - (abs(o.value) + adj)) <= _CENT
                or abs(abs(c.value) - (abs(o.value) - adj)) <= _CENT
                for o in earlier
            ):
                carried = True
            elif earlier:
                c.score -= 1.0  # an unexplained balance below a carried amount
        if not carried:
            out.append(c)
    nonzero = [c for c in out if c.value != 0]
    return nonzero or out


def _tax_sums(lines: list[Line], found: list[VatFound]) -> set[Decimal]:
    """Tax amounts the total may add to the net: the VAT lines' sum, and each amount of a
    tax line ("Sales tax $10.00", "VAT total 75.04")."""
    sums: set[Decimal] = set()
    amounts = [abs(v.amount) for v in _distinct(found) if v.amount is not None]
    if amounts:
        sums.add(sum(amounts, Decimal(0)))
    for line in lines:
        folded = fold_text(line.text)
        if not VAT_WORDS_RE.search(folded) or _net_label(folded) or _INCL.search(folded):
            continue
        values = [abs(a.value) for a in _line_amounts(line)]
        if values:
            sums.add(values[-1])
    return sums


def _pick_total(
    fs: FieldSet, candidates: list[_Cand], cls: Classification, lines: list[Line]
) -> _Cand | None:
    if not candidates:
        return None
    winner = max(candidates, key=lambda c: (c.score, abs(c.value)))
    conf = _TIER_CONF[winner.tier]
    if any(c.value == winner.value and c.index != winner.index for c in candidates):
        conf += 0.08
    elif _paid_below(lines, winner):
        conf += TENDER_AGREES
    rivals = [
        c
        for c in candidates
        if c.value != winner.value
        and c.score >= winner.score - 0.5
        and c.tier not in ("below", "special")
    ]
    if winner.checked:
        # net + tax = this amount; an explicit "amount due" below it that says otherwise
        # (after a deposit, say) leaves room for doubt which one is meant.
        later = [c for c in rivals if c.tier == "strong" and c.index > winner.index]
        conf = 0.7 if later else max(conf, 0.9)
    elif rivals:
        conf *= 0.8
    conf *= ocr_factor(winner.line.words_in(winner.start, winner.end))
    fs.offer(
        "total",
        abs(winner.value) if cls.doc_type is DocType.CREDIT_NOTE else winner.value,
        conf,
        span_box(winner.line, winner.start, winner.end),
        "text",
    )
    return winner


def _total_from_vat_table(fs: FieldSet, lines: list[Line], found: list[VatFound]) -> None:
    """The total of a till receipt whose total line OCR lost, from its VAT table.

    "8.1%  197.10  14.77  182.33" under "MWST Brutto MWST Netto": where every row's tax
    is its rate of its net, the rows' gross is what the receipt comes to. Trusted as much
    as a plainly labelled total only when that sum stands on another line too (the card
    payment, a total line whose label OCR garbled); on its own it is a value for a person
    to confirm. Its source says it was derived, so the cross-checks do not count the
    table's own arithmetic a second time.
    """
    rows = _distinct(found)
    if not all(v.checked and v.base is not None and v.amount is not None for v in rows):
        return
    gross = sum((abs(v.base or _ZERO) + abs(v.amount or _ZERO) for v in rows), _ZERO)
    table = {id(v.line) for v in rows}
    elsewhere = [
        (line, a)
        for line in lines
        if id(line) not in table and not VAT_WORDS_RE.search(fold_text(line.text))
        for a in _line_amounts(line)
        if abs(a.value) == gross
    ]
    if elsewhere:
        line, a = elsewhere[-1]
        conf = DERIVED_TOTAL_CONF * ocr_factor(line.words_in(a.start, a.end))
        fs.offer("total", gross, conf, span_box(line, a.start, a.end), VAT_TABLE_SOURCE)
    else:
        conf = DERIVED_TOTAL_ALONE_CONF * ocr_factor(rows[0].line.words)
        fs.offer("total", gross, conf, box_of(rows[0].line.words), VAT_TABLE_SOURCE)


def _paid_below(lines: list[Line], winner: _Cand) -> bool:
    """Whether a means of payment just below the total names the same amount ("Summe
    CHF 49.35" over "Debit Mastercard 49.35"): the slip prints what was paid apart from
    what it comes to, so the two agreeing are two readings, not one."""
    for line in lines[winner.index + 1 : winner.index + 1 + _TENDER_LINES]:
        if line.page != winner.line.page:
            break
        amounts = _line_amounts(line)
        if amounts and TENDER_RE.search(fold_text(line.text)):
            return abs(amounts[-1].value) == abs(winner.value)
    return False


# --- the currency -------------------------------------------------------------------------

_DOLLARS = ("CAD", "AUD", "NZD", "SGD", "HKD")
# "Amount (EUR)", "Betrag CHF", "Beträge in EUR", "all amounts in USD": a column or page
# stating the currency of its amounts.
_CURRENCY_HEADER = re.compile(
    r"(?<![a-z])(?:amounts?|betr[aä]ge?|price|preis|prix|prezzo|precio|montants?|importi?|"
    r"bedrag|total|totaal|summe|in)[\s(:]{1,3}$"
)


def _offer_currency(fs: FieldSet, lines: list[Line], winner: _Cand | None) -> None:
    text = "\n".join(line.text for line in lines)
    on_page = find_currencies(text, names=True)
    currency = None
    conf = 0.0
    if winner is not None:
        on_line = find_currencies(winner.line.text)
        currency = winner.cur or (on_line[-1] if on_line else None)
        conf = 0.85
    if currency is None:
        header = _header_currency(lines)
        if header is not None:
            currency, conf = header, 0.8
        elif on_page:
            currency = max(set(on_page), key=on_page.count)
            conf = 0.7 if winner is not None else 0.6
        if len(set(on_page)) > 1:
            conf = min(conf, 0.6)  # the page names other currencies too
    if currency is None:
        return
    if currency == "USD" and "USD" not in find_currencies(text.replace("$", "")):
        # A bare "$" is read as USD; a page naming another dollar means that one.
        other = [c for c in on_page if c in _DOLLARS]
        if other:
            currency = other[0]
        conf = min(conf, 0.8)
    fs.offer("currency", currency, conf, None, "text")


def _header_currency(lines: list[Line]) -> str | None:
    for line in lines:
        if find_amounts(line.text):
            continue
        folded = fold_text(line.text)
        for m in re.finditer(r"(?<![A-Za-z])([A-Z]{3}|€|\$|£|₹)(?![A-Za-z])", line.text):
            codes = find_currencies(m.group(1))
            if codes and _CURRENCY_HEADER.search(folded[: m.start()]):
                return codes[0]
    return None


# --- VAT ----------------------------------------------------------------------------------


def _distinct(found: list[VatFound]) -> list[VatFound]:
    """One line per tax and rate: the one whose arithmetic checks, else the last (VAT lines
    follow the items, and an item may be called "MWST-Abrechnung")."""
    best: dict[tuple[str, Decimal], VatFound] = {}
    for v in found:
        old = best.get((v.kind, v.rate))
        if old is None or v.checked or not old.checked:
            best[(v.kind, v.rate)] = v
    return list(best.values())


def _all_checked(found: list[VatFound]) -> list[VatFound]:
    """Every distinct checked line, several per rate where parts of the invoice are taxed
    apart ("items 19 % on 804.35", "shipping 19 % on 4.99"); unchecked lines only for a
    rate that has no checked one."""
    out: list[VatFound] = []
    seen: set[tuple[str, Decimal, Decimal | None, Decimal | None]] = set()
    for v in _distinct(found):
        same = [w for w in found if (w.kind, w.rate) == (v.kind, v.rate) and w.checked]
        for w in same or [v]:
            key = (w.kind, w.rate, w.base, w.amount)
            if key not in seen:
                seen.add(key)
                out.append(w)
    return out


def _offer_vat(fs: FieldSet, lines: list[Line], found: list[VatFound]) -> None:
    gross_total = fs.get("total")
    excessive = False
    if gross_total:
        # The total itself beside a rate ("Total incl. 19 % VAT 1'190.00") is no VAT line;
        # an amount above the share its rate takes of the total is a misreading.
        gross = abs(gross_total)
        found = [
            v
            for v in found
            if v.amount is None or (abs(v.amount) < gross and (v.rate > 0 or v.amount == 0))
        ]
        if not found:
            return
        excessive = any(
            v.amount is not None and abs(v.amount) > gross * v.rate / (100 + v.rate) + _CENT
            for v in found
        )
    chosen = _distinct(found)
    several = _all_checked(found)
    if len(several) > len(chosen) and gross_total is not None:
        parts = sum((abs(v.base or _ZERO) + abs(v.amount or _ZERO) for v in several), Decimal(0))
        if abs(parts - abs(gross_total)) <= Decimal("0.05"):
            chosen = several
    included = [v for v in chosen if v.included and v.base is None and v.amount]
    if len(included) > 1 and gross_total is not None and len(included) == len(chosen):
        pairs = [(v.rate, abs(v.amount)) for v in included if v.amount is not None]
        grosses = split_by_items(abs(gross_total), pairs, _item_amounts(lines, gross_total))
        grosses = grosses or split_included(abs(gross_total), pairs)
        if grosses:
            for v, gross in zip(included, grosses, strict=True):
                v.base = to_money(gross - abs(v.amount or _ZERO))
    vat_lines = []
    ok = True
    vat_sum = sum((abs(v.amount) for v in chosen if v.amount is not None), Decimal(0))
    for v in chosen:
        base = v.base
        if base is None and v.amount is not None:
            base = _base_for(v, len(chosen), gross_total, fs.net, vat_sum)
        if base is not None and v.amount is not None:
            ok = ok and vat_matches(base, v.rate, v.amount)
        vat_lines.append(VatLine(rate=v.rate, base=base, amount=v.amount))
    if any(v.base is None for v in vat_lines):
        sums = _rate_sums(lines)
        for line in vat_lines:
            total_at_rate = sums.get(line.rate)
            if line.base is None and total_at_rate is not None and line.amount is not None:
                amount = abs(line.amount)
                for base in (total_at_rate, to_money(total_at_rate - amount)):
                    if vat_matches(base, line.rate, amount):
                        line.base = base
                        break
    ok = ok and all(v.base is not None for v in vat_lines) and not excessive
    conf = (0.85 if ok else 0.5) * ocr_factor(chosen[0].line.words)
    fs.offer("vat", vat_lines, conf, box_of(chosen[0].line.words), "text")


def _base_for(
    v: VatFound, count: int, gross: Decimal | None, net: Decimal | None, vat_sum: Decimal
) -> Decimal | None:
    """The base of a VAT line printed without one: for VAT included in the prices, the
    gross less the VAT; else the net amount or the total less all VAT, whichever fits the
    rate (the net unchecked when it is the only one)."""
    amount = abs(v.amount or _ZERO)
    if v.included:
        if gross is not None and count == 1:
            return to_money(abs(gross) - amount)
        return None
    options = [net] if net is not None else []
    if gross is not None:
        options.append(to_money(abs(gross) - vat_sum))
    for base in options:
        if base is not None and vat_matches(base, v.rate, amount):
            return base
    if count == 1 and net is not None:
        return net
    return None


def _item_amounts(lines: list[Line], total: Decimal) -> list[Decimal]:
    """Amounts of the item lines of a receipt: right-hand amounts above the total line."""
    out: list[Decimal] = []
    for line in lines:
        folded = fold_text(line.text)
        if _TOTAL_STRONG.search(folded) or TOTAL_RE.search(folded):
            if out and sum(out) == abs(total):
                return out
            if out:
                break
            continue
        amounts = find_amounts(line.text)
        if (
            amounts
            and amounts[-1].end >= len(line.text.rstrip()) - 1
            and not VAT_WORDS_RE.search(folded)
        ):
            out.append(abs(amounts[-1].value))
    return out if sum(out, Decimal(0)) == abs(total) else []


_ROW_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,2})?)\s?%")


def _rate_sums(lines: list[Line]) -> dict[Decimal, Decimal]:
    """Per VAT rate, the sum of the item rows that name it (a rate column in the table)."""
    sums: dict[Decimal, Decimal] = {}
    for line in lines:
        if VAT_WORDS_RE.search(fold_text(line.text)):
            continue
        rates = _ROW_RATE.findall(line.text)
        if len(rates) != 1:
            continue
        amounts = find_amounts(line.text)
        if not amounts:
            continue
        rate = Decimal(rates[0].replace(",", "."))
        rate = rate.normalize() if rate == rate.to_integral() else rate
        sums[rate] = sums.get(rate, Decimal(0)) + abs(amounts[-1].value)
    return sums


def _is_big(line: Line, lines: list[Line]) -> bool:
    sizes = sorted(line_.size for line_ in lines if line_.size)
    return bool(sizes) and line.size > sizes[len(sizes) // 2] * 1.15
