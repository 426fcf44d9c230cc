"""Coverage-guided fuzz target for the Swiss QR-bill payload parser (atheris / libFuzzer):
`extractors.qrbill.parse_qr_payload` and the Swico S1 billing information inside it.

Run it for as long as you like, with a corpus directory that grows as it learns:

    .venv/bin/python tests/fuzz/fuzz_qrbill.py -max_total_time=600 -max_len=4096 CORPUS_DIR

tests/test_fuzz_qrbill.py runs it briefly on every test run. The payload is what a QR
code on a stranger's invoice says — fully attacker-controlled. The contract: anything
that is not a valid payload raises `QrBillError` (the reader then ignores the code), and
whatever is accepted is well-formed where money is concerned. Any other exception, or a
broken invariant, makes libFuzzer stop and write the input to `crash-<sha1>`.
"""

from __future__ import annotations

import sys
from decimal import Decimal

if __name__ == "__main__":
    import atheris

    with atheris.instrument_imports():
        from extractors.fields.iban import is_valid_iban
        from extractors.fields.references import is_valid_qrr, is_valid_scor
        from extractors.qrbill import QrBill, QrBillError, SwicoS1, parse_qr_payload, parse_swico_s1
else:
    from extractors.fields.iban import is_valid_iban
    from extractors.fields.references import is_valid_qrr, is_valid_scor
    from extractors.qrbill import QrBill, QrBillError, SwicoS1, parse_qr_payload, parse_swico_s1

MAX_AMOUNT = Decimal("999999999.99")


def check_bill(bill: QrBill) -> None:
    assert bill.iban[:2] in ("CH", "LI") and len(bill.iban) == 21, bill.iban
    assert is_valid_iban(bill.iban), bill.iban
    assert bill.currency in ("CHF", "EUR"), bill.currency
    if bill.amount is not None:
        assert Decimal("0") <= bill.amount <= MAX_AMOUNT, bill.amount
        assert bill.amount == bill.amount.quantize(Decimal("0.01")), bill.amount
    assert bill.reference_type in ("QRR", "SCOR", "NON"), bill.reference_type
    if bill.reference_type == "QRR":
        assert bill.is_qr_iban and bill.reference and is_valid_qrr(bill.reference)
    elif bill.reference_type == "SCOR":
        assert not bill.is_qr_iban and bill.reference and is_valid_scor(bill.reference)
    else:
        assert not bill.is_qr_iban and bill.reference is None
    assert bill.creditor.name and bill.creditor.address_type in ("S", "K")
    if bill.s1 is not None:
        check_s1(bill.s1)


def check_s1(s1: SwicoS1) -> None:
    for rate in [*s1.vat, *s1.import_vat]:
        assert rate.rate.is_finite()
    for term in s1.terms:
        assert term.days >= 0 and term.discount_percent.is_finite()
    _ = s1.net_days  # the property must not raise either


def check_one_input(data: bytes) -> None:
    """The contract on one input; raises AssertionError (or the stray exception)."""
    text = data.decode("utf-8", errors="replace")
    try:
        bill = parse_qr_payload(text)
    except QrBillError:
        pass
    else:
        check_bill(bill)
    # The S1 parser also reads billing information outside a full payload.
    s1 = parse_swico_s1("//S1/" + text.split("\n", 1)[0])
    assert s1 is not None
    check_s1(s1)


def main() -> None:
    atheris.Setup(sys.argv, check_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
