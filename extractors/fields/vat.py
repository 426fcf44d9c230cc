"""VAT lines (rate, base, amount) as printed, checked against the rate table and arithmetic."""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.money import to_money
from extractors.fields.amounts import find_amounts
from extractors.fields.labelled import compile_labels
from extractors.fields.labels import NET_LABELS, VAT_WORDS_RE, fold_text
from extractors.fields.vat_rates import is_plausible_rate
from extractors.layout import Line

_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,3})?)\s?%")
_OCR_COLON = re.compile(r"(\d)[:;](\d\d)(?!\d)")
_BASE_WORD = re.compile(r"\W*(?:auf|von|sur|de|su|on|of|over|sobre)\s", re.I)
_INCLUDED = re.compile(
    r"\b(?:inkl|incl|inclus|compris|compresa|inclusa|included|enthalten|davon|dont|di\s+cui|"
    r"of\s+which|waarvan)",
    re.I,
)
_SPLIT_KIND = re.compile(r"(?<![a-z])(cgst|sgst|igst|utgst)(?![a-z])")
NET_RE = compile_labels(NET_LABELS)
# US sales tax has no national table: any rate of a few per cent, checked by arithmetic.
_SALES_TAX = re.compile(r"(?<![a-z])sales\s+tax(?![a-z])")
_SALES_TAX_MAX = Decimal("15")
_EXEMPT = re.compile(r"\b(?:befreit|exon[eé]r|esente|exempt|nicht\s+mwst-pflichtig)", re.I)


@dataclass
class VatFound:
    rate: Decimal
    base: Decimal | None
    amount: Decimal | None
    line: Line
    included: bool  # printed as "incl. 8.1 % VAT" (amount part of the total)
    checked: bool  # base * rate = amount within rounding
    # Which tax of a split levy (India's CGST + SGST on one base): such lines stay apart
    # even when rate and amount are the same.
    kind: str = ""


def _rate(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def _norm(rate: Decimal) -> Decimal:
    return rate.normalize() if rate == rate.to_integral() else rate


def vat_matches(base: Decimal, rate: Decimal, amount: Decimal) -> bool:
    """amount = base * rate / 100, within half a Rappen, or cash rounding to 0.05."""
    expected = base * rate / 100
    return abs(expected - amount) <= Decimal("0.026")


def plausible_rate(rate: Decimal, on: date | None, folded: str) -> bool:
    """Whether a line naming a tax (folded text) may print this rate on this date. The
    tax's name does not tell the country (an Austrian supplier writes "IVA" to an Italian
    speaking client): any country's table counts; a US sales tax any rate of a few per
    cent."""
    if is_plausible_rate(rate, on):
        return True
    return bool(_SALES_TAX.search(folded)) and 0 < rate < _SALES_TAX_MAX


def _kind(folded: str) -> str:
    m = _SPLIT_KIND.search(folded)
    return m.group(1) if m else ""


def _amounts(text: str, rate: re.Match[str] | None = None) -> list[Decimal]:
    """Amounts of a VAT line as magnitudes (credit notes print them either way), without
    the rate itself; OCR reads "1.03" as "1:03" now and then, and a VAT line holds no
    times of day."""
    text = _OCR_COLON.sub(r"\1.\2", text)
    out = []
    for a in find_amounts(text):
        if rate is not None and a.start < rate.end() and a.end > rate.start():
            continue
        out.append(abs(a.value))
    return out


def find_vat_lines(lines: list[Line], on: date | None, *, included: bool = False) -> list[VatFound]:
    """VAT lines; `included` when the document's prices include VAT (till receipts)."""
    out: list[VatFound] = []
    for i, line in enumerate(lines):
        folded = fold_text(line.text)
        if not VAT_WORDS_RE.search(folded) or _EXEMPT.search(folded):
            continue
        rates = [m for m in _RATE.finditer(line.text)]
        if len(rates) != 1:
            continue
        rate = _rate(rates[0].group(1))
        if not plausible_rate(rate, on, folded):
            continue
        amounts = _amounts(line.text, rates[0])
        others = [a for a in amounts if a != rate]
        if len(others) >= 2:
            amounts = others  # a rate column printed as a number beside base and VAT
        is_included = included or bool(_INCLUDED.search(line.text))
        base = amount = None
        checked = False
        if len(amounts) >= 2:
            # Try every pair: the one where base * rate = amount is the VAT line.
            for j, b in enumerate(amounts):
                for a in amounts[j + 1 :] + amounts[:j]:
                    if a < b and vat_matches(b, rate, a):
                        base, amount, checked = b, a, True
                        break
                if checked:
                    break
            if not checked:
                base, amount = amounts[-2], amounts[-1]
        elif len(amounts) == 1:
            between = line.text[rates[0].end() :]
            if NET_RE.search(folded[: rates[0].start()]):
                # "Net amount (plus 19 % VAT) 376.37": the net line names the rate; its
                # amount is the base, the VAT is printed on a line of its own.
                continue
            if _BASE_WORD.match(between):
                # "MWST 8.1% auf 942.15" with the VAT in a column OCR lost: the base.
                base = amounts[0]
                amount = to_money(base * rate / 100)
            else:
                amount = amounts[0]
        else:
            # "Tax rate 7.00 %" with the tax on a line of its own just below (or above).
            amount = _amount_nearby(lines, i)
        if amount is None:
            continue
        out.append(VatFound(_norm(rate), base, amount, line, is_included, checked, _kind(folded)))
    return out


def _amount_nearby(lines: list[Line], i: int) -> Decimal | None:
    """The one amount of a rate-less VAT line next to line `i` (same page)."""
    for j in (i + 1, i + 2, i - 1):
        if not 0 <= j < len(lines) or lines[j].page != lines[i].page:
            continue
        text = lines[j].text
        folded = fold_text(text)
        if not VAT_WORDS_RE.search(folded) or _RATE.search(text) or NET_RE.search(folded):
            continue
        amounts = _amounts(text)
        return amounts[0] if len(amounts) == 1 else None
    return None


_GROSS_NET = re.compile(r"brutto|brut|lordo|gross", re.I)
_TABLE_ROW = re.compile(r"^\W{0,3}(\d{1,2}(?:[.,]\d{1,2})?)(?![\d.,]*\d)\s?(%)?")


def _roles(rate: Decimal, amounts: list[Decimal]) -> tuple[Decimal, Decimal] | None:
    """(base, VAT) from a row's amounts in any column order, by arithmetic: net and VAT,
    VAT and gross, or net and gross; None when no pair fits the rate."""
    if rate == 0:
        return None
    n = len(amounts)
    pairs = [(amounts[a], amounts[b]) for a in range(n) for b in range(n) if a != b]
    for big, small in pairs:  # net, VAT and their sum, the gross, all printed
        if small < big and big + small in amounts and vat_matches(big, rate, small):
            return big, small
    for big, small in pairs:  # net and VAT
        if small < big and vat_matches(big, rate, small):
            return big, small
    for big, small in pairs:  # gross and VAT
        if small < big and vat_matches(big - small, rate, small):
            return big - small, small
    for big, small in pairs:  # gross and net
        if small < big and vat_matches(small, rate, big - small):
            return small, big - small
    return None


def find_vat_table(lines: list[Line], on: date | None) -> list[VatFound]:
    """A VAT summary table: a header naming the tax over rows that start with the rate,
    "7%  160.00  11.20" or, on till receipts, "MWST  Brutto  MWST  Netto" over
    "8.1%  23.50 1.76 21.74". Columns are told apart by arithmetic; a row whose numbers do
    not fit its rate counts only under a receipt's gross/net header."""
    out: list[VatFound] = []
    for i, line in enumerate(lines):
        folded = fold_text(line.text)
        if not VAT_WORDS_RE.search(folded) or _RATE.search(line.text):
            continue
        receipt_header = bool(_GROSS_NET.search(folded)) and not find_amounts(line.text)
        rows = misses = 0
        for row in lines[i + 1 : i + 8]:
            m = _TABLE_ROW.match(row.text)
            if row.page != line.page or (m is None and (misses or not rows)):
                break
            if m is None:
                misses += 1  # a stray line (OCR noise, a subtotal) between two rows
                continue
            rows += 1
            misses = 0
            rate = _rate(m.group(1))
            if not plausible_rate(rate, on, folded):
                continue
            amounts = [a for a in _amounts(row.text[m.end() :]) if a != rate]
            if len(amounts) < 2:
                continue
            roles = _roles(rate, amounts)
            if roles is not None:
                net, amount = roles
                gross_printed = any(a == net + amount for a in amounts)
                out.append(VatFound(_norm(rate), net, amount, row, gross_printed, True))
            elif receipt_header and m.group(2):
                # The net column is the one OCR garbles most: net = gross - VAT.
                gross, amount = amounts[0], amounts[1]
                out.append(VatFound(_norm(rate), gross - amount, amount, row, True, False))
        if out:
            break
    return out


def split_included(total: Decimal, found: list[tuple[Decimal, Decimal]]) -> list[Decimal] | None:
    """Gross per rate for VAT-inclusive amounts whose gross is not printed.

    Each VAT amount was rounded from gross x rate / (100 + rate): list the grosses that
    round to it, and keep the one combination that adds up to the total (None when there
    is no single answer).
    """
    options: list[list[Decimal]] = []
    for rate, amount in found:
        estimate = amount * (100 + rate) / rate
        span = int((Decimal("0.006") * (100 + rate) / rate) * 100) + 2
        centre = to_money(estimate)
        cands = []
        for k in range(-span, span + 1):
            gross = centre + Decimal(k) / 100
            if gross > 0 and to_money(gross * rate / (100 + rate)) == amount:
                cands.append(gross)
        options.append(cands)
    solutions: list[list[Decimal]] = []

    def walk(i: int, chosen: list[Decimal], rest: Decimal) -> None:
        if len(solutions) > 1:
            return
        if i == len(options) - 1:
            if rest in options[i]:
                solutions.append([*chosen, rest])
            return
        for gross in options[i]:
            walk(i + 1, [*chosen, gross], rest - gross)

    if options:
        walk(0, [], total)
    return solutions[0] if len(solutions) == 1 else None


def split_by_items(
    total: Decimal, found: list[tuple[Decimal, Decimal]], items: list[Decimal]
) -> list[Decimal] | None:
    """Two VAT-inclusive rates on a receipt: the item amounts that add up to a gross whose
    VAT rounds to the printed amount, with the rest making the other rate's gross."""
    if len(found) != 2 or not 2 <= len(items) <= 16:
        return None
    (rate_a, amount_a), (rate_b, amount_b) = found
    answers: set[tuple[Decimal, Decimal]] = set()
    n = len(items)
    for mask in range(1, (1 << n) - 1):
        gross_a = sum((items[i] for i in range(n) if mask >> i & 1), Decimal(0))
        gross_b = total - gross_a
        if (
            gross_b > 0
            and to_money(gross_a * rate_a / (100 + rate_a)) == amount_a
            and to_money(gross_b * rate_b / (100 + rate_b)) == amount_b
        ):
            answers.add((gross_a, gross_b))
    if len(answers) == 1:
        return list(answers.pop())
    return None
