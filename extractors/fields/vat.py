"""VAT lines (rate, base, amount) as printed, checked against the rate table and arithmetic."""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.money import to_money
from extractors.fields.amounts import find_amounts
from extractors.fields.labels import VAT_WORDS_RE, fold_text
from extractors.fields.vat_rates import is_valid_rate
from extractors.layout import Line

_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,2})?)\s?%")
_OCR_COLON = re.compile(r"(\d)[:;](\d\d)(?!\d)")
_BASE_WORD = re.compile(r"\s*(?:auf|von|sur|de|su|on|of)\s", re.I)
_INCLUDED = re.compile(r"\b(?:inkl|incl|inclus|compris|compresa|inclusa|included|enthalten)", re.I)
_EXEMPT = re.compile(r"\b(?:befreit|exon[eé]r|esente|exempt|nicht\s+mwst-pflichtig)", re.I)


@dataclass
class VatFound:
    rate: Decimal
    base: Decimal | None
    amount: Decimal | None
    line: Line
    included: bool  # printed as "incl. 8.1 % VAT" (amount part of the total)
    checked: bool  # base * rate = amount within rounding


def _rate(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def vat_matches(base: Decimal, rate: Decimal, amount: Decimal) -> bool:
    """amount = base * rate / 100, within half a Rappen, or cash rounding to 0.05."""
    expected = base * rate / 100
    return abs(expected - amount) <= Decimal("0.026")


def find_vat_lines(lines: list[Line], on: date | None, *, included: bool = False) -> list[VatFound]:
    """VAT lines; `included` when the document's prices include VAT (till receipts)."""
    out: list[VatFound] = []
    for line in lines:
        folded = fold_text(line.text)
        if not VAT_WORDS_RE.search(folded) or _EXEMPT.search(folded):
            continue
        rates = [m for m in _RATE.finditer(line.text)]
        if len(rates) != 1:
            continue
        rate = _rate(rates[0].group(1))
        if not is_valid_rate(rate, on):
            continue
        # OCR reads "1.03" as "1:03" now and then; a VAT line holds no times of day.
        text = _OCR_COLON.sub(r"\1.\2", line.text)
        amounts = [
            a.value
            for a in find_amounts(text)
            if a.start >= rates[0].end() or a.end <= rates[0].start()
        ]
        amounts = [a for a in amounts if a != rate]
        is_included = included or bool(_INCLUDED.search(line.text))
        base = amount = None
        checked = False
        if len(amounts) >= 2:
            # Try every pair: the one where base * rate = amount is the VAT line.
            for i, b in enumerate(amounts):
                for a in amounts[i + 1 :] + amounts[:i]:
                    if a < b and vat_matches(b, rate, a):
                        base, amount, checked = b, a, True
                        break
                if checked:
                    break
            if not checked:
                base, amount = amounts[-2], amounts[-1]
        elif len(amounts) == 1:
            # "MWST 8.1% auf 942.15" with the VAT in a column OCR lost: that is the base.
            between = line.text[rates[0].end() :]
            if _BASE_WORD.match(between):
                base = amounts[0]
                amount = to_money(base * rate / 100)
            else:
                amount = amounts[0]
        if amount is None:
            continue
        out.append(
            VatFound(
                rate.normalize() if rate == rate.to_integral() else rate,
                base,
                amount,
                line,
                is_included,
                checked,
            )
        )
    return out


_GROSS_NET = re.compile(r"brutto|brut|lordo|gross", re.I)
_TABLE_ROW = re.compile(r"^\s*(\d{1,2}(?:[.,]\d{1,2})?)\s?%")


def find_vat_table(lines: list[Line], on: date | None) -> list[VatFound]:
    """Till receipts: a header "MWST  Brutto  MWST  Netto" over rows "8.1%  23.50 1.76 21.74"."""
    out: list[VatFound] = []
    for i, line in enumerate(lines):
        folded = fold_text(line.text)
        if not (VAT_WORDS_RE.search(folded) and _GROSS_NET.search(folded)):
            continue
        for row in lines[i + 1 : i + 6]:
            m = _TABLE_ROW.match(row.text)
            if not m:
                break
            rate = _rate(m.group(1))
            # OCR reads "3.35" as "3:35" now and then; in this table there are no times.
            rest = re.sub(r"(\d)[:;](\d\d)(?!\d)", r"\1.\2", row.text[m.end() :])
            amounts = [a.value for a in find_amounts(rest)]
            if len(amounts) < 2 or not is_valid_rate(rate, on):
                continue
            gross, amount = amounts[0], amounts[1]
            net = amounts[2] if len(amounts) >= 3 else None
            if net is None or net + amount != gross:
                net = gross - amount  # the net column is the one OCR garbles most
            checked = net + amount == gross and vat_matches(net, rate, amount)
            out.append(
                VatFound(
                    rate.normalize() if rate == rate.to_integral() else rate,
                    net,
                    amount,
                    row,
                    True,
                    checked,
                )
            )
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
