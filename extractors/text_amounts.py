"""Amounts read from the page text: the total, its currency, the net amount and the VAT
lines (rates, bases, amounts), offered to a `FieldSet` with the confidence their labels and
arithmetic earn.
"""

import re
from datetime import date
from decimal import Decimal
from typing import Any

from domain.enums import DocType
from domain.extraction import VatLine
from domain.money import to_money
from extractors.field_set import Doc, FieldSet, box_of, ocr_factor, span_box
from extractors.fields.amounts import find_amounts, find_currencies
from extractors.fields.labelled import compile_labels
from extractors.fields.labels import NET_LABELS, TOTAL_LABELS, VAT_WORDS_RE, fold_text
from extractors.fields.vat import (
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
    r"total\s+(?:chf|eur|fr\.?|sfr\.?|inkl|incl|ttc|a\s+payer|da\s+pagare|due|gutschrift|offen)|"
    r"montant\s+total|total\s+[aà]\s+payer|[aà]\s+payer|importo\s+(?:totale|da\s+pagare)|"
    r"da\s+pagare|amount\s+due|total\s+due|grand\s+total|totale\s+(?:fattura|chf|eur)|"
    r"totale?\s+(?:mwst|tva|iva|vat)\s+(?:inkl|incl|inclus[ea]?|compris[e]?)|"
    r"total(?:e|betrag)?\s+(?:inkl|incl|inclus[ea]?)|zu\s+ihren\s+gunsten|credit\s+amount|"
    r"summe\s+brutto|totalbetrag|a\s+vostro\s+favore|en\s+votre\s+faveur|"
    r"offener\s+betrag|total\s+offen|montant\s+d[uû]|importo\s+dovuto|amount\s+outstanding|"
    r"betrag\s+zu\s+ihren\s+gunsten|gutschriftsbetrag|montant\s+(?:de\s+l'avoir|cr[eé]dit[eé])|"
    r"importo\s+accreditato|credit\s+amount|total\s+credit|nettolohn|salaire\s+net|"
    r"salario\s+netto|net\s+(?:pay|salary)|auszahlung|versement|neuer\s+saldo|nouveau\s+solde|"
    r"saldo\s+finale|closing\s+balance)(?![a-z])"
)
TOTAL_RE = compile_labels(TOTAL_LABELS)
_NOT_TOTAL = re.compile(
    r"(?<![a-z])(?:zwischen|sub|sous|exkl|excl|ohne|netto(?!lohn)|ht(?![a-z])|imponibile|"
    r"mwst|mwst\.|tva|iva|vat|ust|rabatt|remise|sconto|discount|skonto|porto|versand|"
    r"net(?![a-z])|total\s+(?:positionen|lignes)|anzahl|quantit|menge)"
)


_PAYOUT_RE = re.compile(
    r"(?<![a-z])(?:auszahlung|versement|pagamento|payout|nettolohn|salaire\s+net|salario\s+netto|"
    r"net\s+salary)(?![a-z])"
)
_CLOSING_RE = re.compile(
    r"(?<![a-z])(?:schlusssaldo|neuer\s+saldo|solde\s+final|nouveau\s+solde|saldo\s+finale|"
    r"closing\s+balance)(?![a-z])"
)


def _line_amounts(line: Line) -> list[tuple[Decimal, str | None, int, int]]:
    return [(a.value, a.currency, a.start, a.end) for a in find_amounts(line.text)]


def money(
    fs: FieldSet, doc: Doc, lines: list[Line], issue: date | None, cls: Classification
) -> None:
    candidates: list[tuple[float, Decimal, str | None, Line, int, int]] = []
    special = {DocType.PAYSLIP: _PAYOUT_RE, DocType.BANK_STATEMENT: _CLOSING_RE}.get(cls.doc_type)
    for i, line in enumerate(lines):
        folded = fold_text(line.text)
        if special is not None:
            m = special.search(folded)
            amounts = [a for a in _line_amounts(line) if m and a[2] >= m.start()]
            if m and amounts:
                value, cur, start, end = amounts[-1]
                # The payout row comes after the net salary; the bold closing row last.
                candidates.append((3.0 + 0.001 * i, value, cur, line, start, end))
            continue
        strong = _TOTAL_STRONG.search(folded)
        weak = TOTAL_RE.search(folded)
        if not strong and not weak:
            continue
        label = strong or weak
        assert label is not None
        if _NOT_TOTAL.search(folded[: label.end() + 12]) and not strong:
            continue
        amounts = [a for a in _line_amounts(line) if a[2] >= label.start()]
        if not amounts and i + 1 < len(lines) and lines[i + 1].page == line.page:
            below = lines[i + 1]
            amounts = _line_amounts(below)
            if amounts:
                # A column header ("Total CHF") over the first item row: a weak guess.
                value, cur, start, end = amounts[-1]
                candidates.append((0.5 + 0.001 * i, value, cur, below, start, end))
            continue
        if not amounts:
            continue
        value, cur, start, end = amounts[-1]
        score = (
            (2.0 if strong else 1.0)
            + 0.001 * i
            + (0.3 if line.size and _is_big(line, lines) else 0)
        )
        candidates.append((score, value, cur, line, start, end))
    currency_counts = find_currencies("\n".join(line.text for line in lines))
    if candidates:
        score, value, cur, line, start, end = max(candidates, key=lambda c: (c[0], abs(c[1])))
        agree = sum(1 for c in candidates if c[1] == value)
        conf = (0.8 if score >= 2 else 0.65) + (0.08 if agree > 1 else 0.0)
        conf *= ocr_factor(line.words_in(start, end))
        fs.offer(
            "total",
            abs(value) if cls.doc_type is DocType.CREDIT_NOTE else value,
            conf,
            span_box(line, start, end),
            "text",
        )
        currency = (
            cur
            or _currency_near(line)
            or (max(set(currency_counts), key=currency_counts.count) if currency_counts else None)
        )
        if currency:
            fs.offer(
                "currency", currency, 0.85 if cur or _currency_near(line) else 0.7, None, "text"
            )
    elif currency_counts:
        fs.offer(
            "currency", max(set(currency_counts), key=currency_counts.count), 0.6, None, "text"
        )
    # Net amount, for the net + VAT = total check.
    for line in lines:
        folded = fold_text(line.text)
        m = NET_RE.search(folded)
        if m and not re.search(r"mwst|tva|iva|vat|ust", folded[: m.start()]):
            amounts = [a for a in _line_amounts(line) if a[2] >= m.start()]
            if amounts:
                fs.net = amounts[-1][0]
                break
    found = find_vat_table(lines, issue) or find_vat_lines(
        lines, issue, included=cls.doc_type is DocType.RECEIPT
    )
    if found:
        # Per rate the most convincing line: one whose arithmetic checks, else the last
        # (VAT lines follow the items, and an item may be called "MWST-Abrechnung").
        by_rate: dict[Decimal, Any] = {}
        for v in found:
            old = by_rate.get(v.rate)
            if old is None or v.checked or not old.checked:
                by_rate[v.rate] = v
        vat_lines = []
        ok = True
        gross_total = fs.get("total")
        included = [v for v in by_rate.values() if v.included and v.base is None and v.amount]
        if len(included) > 1 and gross_total is not None and len(included) == len(by_rate):
            pairs = [(v.rate, abs(v.amount)) for v in included]
            grosses = split_by_items(abs(gross_total), pairs, _item_amounts(lines, gross_total))
            grosses = grosses or split_included(abs(gross_total), pairs)
            if grosses:
                for v, gross in zip(included, grosses, strict=True):
                    v.base = to_money(gross - abs(v.amount))
        for v in by_rate.values():
            base = v.base
            if base is None and v.included:
                gross = fs.get("total")
                if gross is not None and len(by_rate) == 1:
                    base = to_money(gross - v.amount)
                elif gross is not None:
                    base = None
            if base is None and not v.included and len(by_rate) == 1:
                net = fs.net
                if net is not None:
                    base = net
            if base is not None and v.amount is not None:
                ok = ok and vat_matches(base, v.rate, v.amount)
            vat_lines.append(VatLine(rate=v.rate, base=base, amount=v.amount))
        if any(v.base is None for v in vat_lines):
            sums = _rate_sums(lines)
            for v in vat_lines:
                total_at_rate = sums.get(v.rate)
                if v.base is None and total_at_rate is not None and v.amount is not None:
                    amount = abs(v.amount)
                    for base in (total_at_rate, to_money(total_at_rate - amount)):
                        if vat_matches(base, v.rate, amount):
                            v.base = base
                            break
        ok = ok and all(v.base is not None for v in vat_lines)
        conf = (0.85 if ok else 0.5) * ocr_factor(found[0].line.words)
        fs.offer("vat", vat_lines, conf, box_of(found[0].line.words), "text")


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


def _currency_near(line: Line) -> str | None:
    found = find_currencies(line.text)
    return found[-1] if found else None
