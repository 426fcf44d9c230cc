"""Cross-checks of fields read from the page: net + VAT (or the VAT bases) against the
total, each VAT line's rate against its base and amount, and a QR-bill's amount against
the printed total. Agreement raises the confidence of total and VAT, a failed check lowers
it; no value is replaced by a guess.

Bases and amounts that add up to the total are no proof on their own: OCR that loses the
same leading digit in the base and in the total ("2'767.50" and "2'991.67" read as
"767.50" and "991.67") keeps the sum right. The rate does not follow such a misreading,
so a line whose amount is far from its base times its rate fails the check
(docs/decisions/0010-a-second-fact-before-a-total-posts.md).
"""

from decimal import Decimal

from domain.extraction import VatLine
from extractors.field_set import FieldSet
from extractors.qrbill import QrBill
from extractors.reading import Classification
from extractors.text_amounts import VAT_TABLE_SOURCE

# Arithmetic that holds makes a total as sure as a QR-bill's (bench/accuracy.py's
# calibration: no checked total wrong); VAT lines a little less, since their rates and bases
# may be paired up wrongly and still add up. A failed check puts any value below routing's
# threshold (0.75; 0.6 of at most 1), so a person looks.
CHECKED_TOTAL = 0.97
CHECKED_VAT = 0.95
FAILED_CHECK = 0.6


def cross_checks(fs: FieldSet, cls: Classification, qr: QrBill | None) -> None:
    total = fs.get("total")
    if total is None:
        return
    vat: list[VatLine] = fs.get("vat") or []
    net = fs.net
    amounts = [v.amount for v in vat if v.amount is not None]
    bases = [v.base for v in vat if v.base is not None]
    checks = []
    # Only the bases and amounts adding up to the total vouch for the VAT lines: a QR-bill
    # agreeing with the total, or net + VAT where a base is missing, say nothing of them.
    vat_checked = False
    derived = fs.picks["total"].source == VAT_TABLE_SOURCE
    if vat and amounts:
        if derived:
            # The total is the VAT table's own sum: only the rates are left to check.
            checks.append(all(_rate_fits(v) for v in vat))
        elif bases and len(bases) == len(vat):
            # India's CGST and SGST tax one base at the same rate twice: count it once.
            bases = [base for _rate, base in {(v.rate, v.base) for v in vat if v.base is not None}]
            checks.append(abs(sum(bases) + sum(amounts) - abs(total)) <= Decimal("0.05"))
            checks.append(all(_rate_fits(v) for v in vat))
            vat_checked = True
        elif net is not None:
            checks.append(abs(net + sum(amounts) - abs(total)) <= Decimal("0.05"))
    if qr is not None and qr.amount is not None and fs.picks["total"].source != "qr":
        checks.append(qr.amount == abs(total))
    if not checks:
        return
    if all(checks):
        if derived:
            return
        fs.adjust("total", max(fs.conf("total"), CHECKED_TOTAL))
        if vat and vat_checked:
            fs.adjust("vat", max(fs.conf("vat"), CHECKED_VAT))
    else:
        fs.adjust("total", fs.conf("total") * FAILED_CHECK)
        if vat:
            fs.adjust("vat", fs.conf("vat") * FAILED_CHECK)


# How far a VAT line's amount may stray from base x rate and still count as that line's
# tax: rounding per item or to 5 Rappen moves it by cents, a lost or misread digit by far
# more. Tighter than this would send every invoice that rounds per item to a person.
_RATE_SLACK = Decimal("0.02")
_RATE_SLACK_MIN = Decimal("0.10")


def _rate_fits(v: VatLine) -> bool:
    """Whether a VAT line's amount is its rate of its base (net), or of its base taken as
    gross (VAT included); a line without base or amount has nothing to check."""
    if v.base is None or v.amount is None or not v.rate:
        return True
    base, amount = abs(v.base), abs(v.amount)
    slack = max(_RATE_SLACK_MIN, amount * _RATE_SLACK)
    on_net = base * v.rate / 100
    on_gross = base * v.rate / (100 + v.rate)
    return abs(on_net - amount) <= slack or abs(on_gross - amount) <= slack
