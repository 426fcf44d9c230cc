"""Properties of the field parsers that the example tests and the round trips of
tests/test_fields_*.py leave open: on any text at all they neither raise nor hang; what
they return is always valid (a parser never invents an IBAN, a UID or a reference whose
check digits fail); check digits catch every single-digit slip; a value survives being
printed in the middle of a line of noise; the QR-bill parser recovers what `qrbill`
encoded and refuses anything else with `QrBillError` only.
"""

import contextlib
import string
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from stdnum import iban as std_iban
from stdnum import iso11649
from stdnum.ch import uid as std_uid

from extractors.fields.amounts import find_amounts, format_amount, parse_amount, parse_number
from extractors.fields.dates import find_dates, parse_date, parse_yymmdd
from extractors.fields.iban import find_ibans, is_valid_iban
from extractors.fields.references import (
    find_references,
    is_valid_qrr,
    is_valid_scor,
    mod10_check_digit,
)
from extractors.fields.uid import find_uids, parse_uid, uid_check_digit
from extractors.qrbill import QrBillError, parse_qr_payload

# Text as documents deliver it: letters of four languages, digits, money and date
# punctuation, the apostrophes and spaces Swiss printers use, and now and then anything.
_PRINTED = string.ascii_letters + string.digits + " .,:;'/-–’\u00a0\u202fCHFEURäöüéèàç€\n"
printed_text = st.one_of(
    st.text(alphabet=_PRINTED, max_size=300),
    st.text(max_size=200),  # any unicode: controls, RTL marks, surrogates' neighbours
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- never raise, always valid ----------------------------------------------------------


@FAST
@given(printed_text)
@example("CHF 1'234.50 1.234,50 12.– 1 234.50 −5.00 ---...,,,''")
@example("IBAN CH93 OO76 2011 6238 5295 7 CHE-1O6.017.086 MWST RF18 5390 0754 7034")
@example("9" * 400)
def test_parsers_take_any_text(text: str) -> None:
    for match in find_amounts(text) + find_amounts(text, with_integers=True):
        assert isinstance(match.value, Decimal) and match.value.is_finite()
    for value in (parse_amount(text), parse_number(text)):
        assert value is None or (isinstance(value, Decimal) and value.is_finite())
    for found in find_dates(text):
        assert isinstance(found.value, date)
        assert 0 <= found.start < found.end <= len(text)
    assert parse_date(text) is None or isinstance(parse_date(text), date)
    for iban, start, _end in find_ibans(text):
        assert is_valid_iban(iban) and std_iban.is_valid(iban), iban  # never an invention
        assert 0 <= start < len(text)
    for uid, _start, _end, _vat in find_uids(text):
        assert std_uid.is_valid(uid), uid
    uid = parse_uid(text)
    assert uid is None or std_uid.is_valid(uid), uid
    for kind, reference, _start, _end in find_references(text):
        if kind == "QRR":
            assert len(reference) == 27 and is_valid_qrr(reference), reference
        else:
            assert kind == "SCOR" and iso11649.is_valid(reference), reference


@FAST
@given(st.text(max_size=40))
def test_yymmdd_takes_any_text(text: str) -> None:
    value = parse_yymmdd(text)
    assert value is None or (len(text) == 6 and text.isdigit() and value.year >= 2000)


@FAST
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_yymmdd_round_trip(value: date) -> None:
    assert parse_yymmdd(value.strftime("%y%m%d")) == value


# --- check digits catch the slips they promise to catch --------------------------------


@FAST
@given(st.text(alphabet="0123456789", min_size=26, max_size=26), st.data())
def test_qr_reference_catches_every_single_digit_slip(body: str, data: st.DataObject) -> None:
    reference = body + str(mod10_check_digit(body))
    assert is_valid_qrr(reference)
    position = data.draw(st.integers(0, 26))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != reference[position]]))
    slipped = reference[:position] + wrong + reference[position + 1 :]
    assert not is_valid_qrr(slipped)


@FAST
@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.data())
def test_iban_catches_every_single_digit_slip(bban: str, data: st.DataObject) -> None:
    iban = f"CH{std_iban.calc_check_digits('CH00' + bban)}{bban}"
    position = data.draw(st.integers(2, len(iban) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != iban[position]]))
    slipped = iban[:position] + wrong + iban[position + 1 :]
    assert not is_valid_iban(slipped)
    assert all(found != slipped for found, _, _ in find_ibans(f"IBAN {slipped}"))


@FAST
@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.data())
def test_uid_catches_every_single_digit_slip(first8: str, data: st.DataObject) -> None:
    check = uid_check_digit(first8)
    assume(check != 10)  # never issued
    digits = first8 + str(check)
    position = data.draw(st.integers(0, 8))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != digits[position]]))
    slipped = digits[:position] + wrong + digits[position + 1 :]
    printed = f"CHE-{slipped[:3]}.{slipped[3:6]}.{slipped[6:]}"
    assert parse_uid(printed) is None
    assert find_uids(f"MWST {printed} MWST") == []


# --- values survive the noise around them ----------------------------------------------

_NOISE = st.text(alphabet=string.ascii_letters + " ", max_size=30).map(lambda s: s.strip())


@FAST
@given(
    st.decimals(min_value=Decimal("0.05"), max_value=Decimal("9999999.95"), places=2),
    st.sampled_from(["ch", "ch_typo", "space", "eu", "plain"]),
    _NOISE,
    _NOISE,
)
def test_amount_found_in_a_line_of_words(
    value: Decimal, style: str, before: str, after: str
) -> None:
    line = f"{before} Total CHF {format_amount(value, style)} {after}".strip()
    assert value in {m.value for m in find_amounts(line)}, line


@FAST
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)), _NOISE, _NOISE)
def test_date_found_in_a_line_of_words(value: date, before: str, after: str) -> None:
    line = f"{before} Datum {value:%d.%m.%Y} {after}"
    assert value in {d.value for d in find_dates(line)}, line


@FAST
@given(st.text(alphabet="0123456789", min_size=17, max_size=17), _NOISE, _NOISE)
def test_iban_found_in_a_line_of_words(bban: str, before: str, after: str) -> None:
    iban = f"CH{std_iban.calc_check_digits('CH00' + bban)}{bban}"
    spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    # Words after the IBAN must not glue onto it: a printed IBAN ends with a separator.
    line = f"{before} IBAN {spaced}, {after}"
    assert iban in {found for found, _, _ in find_ibans(line)}, line


# --- the QR-bill payload ----------------------------------------------------------------


@st.composite
def _qr_bills(draw: st.DrawFn) -> tuple[str, dict]:
    """A payload made by `qrbill` (the reference generator) and what it encodes."""
    from qrbill import QRBill

    from tests.docgen.identities import qr_iban, qrr_reference, scor_reference, swiss_iban

    seed = draw(st.integers(0, 2**32 - 1))
    kind = draw(st.sampled_from(["QRR", "SCOR", "NON"]))
    amount = draw(
        st.one_of(
            st.none(),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2),
        )
    )
    currency = draw(st.sampled_from(["CHF", "EUR"]))
    account = qr_iban(seed) if kind == "QRR" else swiss_iban(seed)
    reference = {"QRR": qrr_reference, "SCOR": scor_reference}.get(kind, lambda _s: None)(seed)
    name = draw(st.text(alphabet=string.ascii_letters + " äöüéàç-&.", min_size=1, max_size=60))
    name = name.strip() or "X"
    message = draw(st.text(alphabet=string.ascii_letters + string.digits + " .,", max_size=100))
    bill = QRBill(
        account=account,
        creditor={"name": name, "pcode": "8001", "city": "Zürich", "country": "CH"},
        amount=None if amount is None else f"{amount:.2f}",
        currency=currency,
        reference_number=reference,
        additional_information=message.strip() or None,
    )
    expected = {
        "iban": account,
        "amount": amount,
        "currency": currency,
        "kind": kind,
        "reference": reference,
        "name": name,
    }
    return bill.qr_data(), expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_qr_bills(), st.sampled_from(["\r\n", "\n"]), st.booleans())
def test_qr_payload_round_trip(
    bill: tuple[str, dict], newline: str, trailing_newline: bool
) -> None:
    payload, expected = bill
    payload = payload.replace("\r\n", "\n").replace("\n", newline)
    if trailing_newline:
        payload += newline
    parsed = parse_qr_payload(payload)
    assert parsed.iban == expected["iban"]
    assert parsed.amount == expected["amount"]
    assert parsed.currency == expected["currency"]
    assert parsed.reference_type == expected["kind"]
    compact = (expected["reference"] or "").replace(" ", "").upper() or None
    assert parsed.reference == compact
    assert parsed.creditor.name == " ".join(expected["name"].split()) or parsed.creditor.name


@FAST
@given(st.text(max_size=600))
@example("SPC\n0200\n1\n" + "\n" * 40)
def test_qr_payload_refuses_anything_else_with_its_own_error(text: str) -> None:
    with contextlib.suppress(QrBillError):
        parse_qr_payload(text)


@FAST
@given(_qr_bills(), st.data())
def test_qr_payload_with_one_line_damaged_is_refused_or_consistent(
    bill: tuple[str, dict], data: st.DataObject
) -> None:
    """Damage one line; the parser either refuses (QrBillError) or returns a bill whose
    money fields are still well-formed — never an exception of another kind."""
    payload, _ = bill
    lines = payload.split("\r\n")
    index = data.draw(st.integers(0, len(lines) - 1))
    lines[index] = data.draw(st.text(max_size=40))
    try:
        parsed = parse_qr_payload("\r\n".join(lines))
    except QrBillError:
        return
    assert parsed.currency in ("CHF", "EUR")
    assert parsed.amount is None or Decimal("0") <= parsed.amount <= Decimal("999999999.99")
    assert std_iban.is_valid(parsed.iban)
    if parsed.reference_type == "QRR":
        assert parsed.reference is not None and is_valid_qrr(parsed.reference)
    if parsed.reference_type == "SCOR":
        assert parsed.reference is not None and is_valid_scor(parsed.reference)


def test_the_strategies_make_what_they_claim() -> None:
    # Guard against a vacuous test: the noise alphabet really holds what Swiss prints.
    assert "’" in _PRINTED and "\u202f" in _PRINTED
    with pytest.raises(QrBillError):
        parse_qr_payload("")
