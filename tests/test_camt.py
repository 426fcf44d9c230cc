"""The camt.053 / camt.054 reader (`extractors.camt`) on hand-made files in the shapes Swiss
banks send (tests/data/camt/SOURCES.md says which file covers what): every value asserted
here was read from the file by eye."""

import io
import time
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from domain.bank import EntryStatus, ReferenceType, Statement, StatementKind
from domain.enums import MediaType
from domain.filetype import sniff
from extractors import camt
from extractors.camt import CamtError, check_balance, is_camt, parse_camt
from ingest.archives import open_zip
from tests.extract_helpers import cii_xml

DATA = Path(__file__).parent / "data" / "camt"
SAMPLES = sorted(DATA.glob("*.xml"))
HANDMADE_V08 = "handmade_camt053_v08_two_statements.xml"
HANDMADE_V04 = "handmade_camt053_v04_debit_batch.xml"
POSTFINANCE_053 = "handmade_camt053_v04_postfinance_style.xml"
ISO_STYLE_053 = "handmade_camt053_v04_iso_example_style.xml"
QRR_054_V04 = "handmade_camt054_v04_qrr_batch.xml"
QRR_054_V08 = "handmade_camt054_v08_qrr_batch.xml"
ESR_DEBIT_054 = "handmade_camt054_v04_esr_debit.xml"
ES_BATCH_054 = "handmade_camt054_v04_es_batch.xml"
MIXED_V08 = "handmade_camt053_v08_mixed_balances.xml"


def raw(name: str) -> bytes:
    return (DATA / name).read_bytes()


def one(name: str) -> Statement:
    statements = parse_camt(raw(name))
    assert len(statements) == 1
    return statements[0]


# --- every file -----------------------------------------------------------------------------


def test_there_are_samples_and_each_is_listed_in_sources() -> None:
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert len(SAMPLES) == 9
    for path in SAMPLES:
        assert f"`{path.name}`" in sources


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_parses_and_is_recognised(path: Path) -> None:
    data = path.read_bytes()
    assert is_camt(data)
    assert sniff(data) is MediaType.XML
    statements = parse_camt(data)
    assert statements
    for statement in statements:
        assert statement.account_id
        assert statement.entries
        for entry in statement.entries:
            assert entry.amount != 0
            assert entry.transactions
            assert {t.currency for t in entry.transactions} == {entry.currency}


# --- bank-shaped files ----------------------------------------------------------------------


def test_postfinance_style_statement_v04_header_balances_and_balance_check() -> None:
    s = one(POSTFINANCE_053)
    assert (s.kind, s.version) == (StatementKind.CAMT053, 4)
    assert s.message_id == "20250331851234567000041"
    assert s.statement_id == "20250331851234567000042"
    assert s.account_iban == s.account_id == "CH1309000000851234567"
    assert s.account_owner == "Velohaus Aaretal GmbH Thun"
    assert s.currency == "CHF"  # no Acct/Ccy: the balances'
    assert (s.period_from, s.period_to) == (date(2025, 3, 31), date(2025, 3, 31))
    assert s.opening is not None and s.closing is not None
    # OPBD, not the PRCD of 28 March; CLBD, not CLAV.
    assert (s.opening.amount, s.opening.as_of) == (Decimal("48213.45"), date(2025, 3, 31))
    assert (s.closing.amount, s.closing.as_of) == (Decimal("49003.55"), date(2025, 3, 31))
    assert [e.amount for e in s.entries] == [
        Decimal(a)
        for a in (
            "-18.00",
            "-9.60",
            "-4.30",
            "860.00",
            "255.00",
            "160.00",
            "58.50",
            "72.80",
            "-19.50",
            "-39.00",
            "-525.80",
        )
    ]
    assert sum(e.amount for e in s.entries) == Decimal("790.10")
    assert check_balance(s) is None


def test_postfinance_style_debit_fee_takes_the_entry_text() -> None:
    fee = one(POSTFINANCE_053).entries[0]
    assert fee.amount == Decimal("-18.00")
    assert fee.bank_reference == "20250331000851234567100000000101"
    assert (fee.booking_date, fee.value_date) == (date(2025, 3, 31), date(2025, 3, 31))
    assert fee.status is EntryStatus.BOOKED
    [tx] = fee.transactions
    assert tx.amount == Decimal("-18.00")
    assert tx.remittance == "GEBÜHR KONTO 85-123456-7: AUSZUG PER POST MONATLICH"


def test_postfinance_style_qr_esr_batch_is_split_per_payment() -> None:
    batch = one(POSTFINANCE_053).entries[3]
    assert batch.amount == Decimal("860.00")
    assert batch.entry_reference == "CH6130000001851234567"  # the QR-IBAN credited
    assert batch.batch_count == 6
    assert (batch.booking_date, batch.value_date) == (date(2025, 3, 28), date(2025, 3, 31))
    assert len(batch.transactions) == 6
    assert batch.split_difference == 0
    # Typed "ISR Reference", typed QRR, untyped: all 27 digits, all QR references.
    assert [t.reference_type for t in batch.transactions] == [ReferenceType.QRR] * 6
    second = batch.transactions[1]
    assert second.amount == Decimal("85.50")
    assert second.counterparty_name == "Zimmermann Ruth"
    assert second.reference == "000000000000000020250003128"
    assert second.bank_reference == "250328CH00QA0002"
    # "?REJECT?0" is a bank marker, and the batch's own text describes the batch.
    assert second.remittance is None
    third = batch.transactions[2]
    assert (third.counterparty_name, third.counterparty_iban, third.end_to_end_id) == (
        "Keller Andreas",
        "CH5200700110004567890",
        "KELLER-2025-03-27",
    )


def test_postfinance_style_orange_slip_batch_keeps_each_payments_text() -> None:
    batch = one(POSTFINANCE_053).entries[4]
    assert [(t.amount, t.counterparty_name, t.remittance) for t in batch.transactions] == [
        (Decimal("75.00"), "Gerber Thomas", "Service Citybike"),
        (Decimal("30.00"), "Zimmermann Ruth", "Veloschloss Kundennr. 4471"),
        # No text of its own: the batch's text stays on the entry.
        (Decimal("150.00"), "Keller Andreas", None),
    ]


def test_postfinance_style_direct_debits_and_the_refund_that_names_the_original_debtor() -> None:
    entries = one(POSTFINANCE_053).entries
    collected = entries[6]
    assert collected.entry_reference == "41100051234567890"
    assert [(t.amount, t.counterparty_name, t.end_to_end_id) for t in collected.transactions] == [
        (Decimal("39.00"), "Zimmermann Ruth", "ABO-2025-04-0007"),
        (Decimal("19.50"), "Brunner Sandra", "ABO-2025-04-0012"),
    ]
    # A single collection without a message takes the entry's text.
    [single] = entries[7].transactions
    assert single.remittance == (
        "GUTSCHRIFT CH-DD-BASISLASTSCHRIFT ID: 41100051234567890 REFERENZ-NR: SERVICE-2025-04"
    )
    refund = entries[8]
    assert (refund.amount, refund.reversal) == (Decimal("-19.50"), True)
    [tx] = refund.transactions
    # A direct-debit refund lists only the Dbtr of the original collection.
    assert tx.counterparty_name == "Brunner Sandra"
    assert tx.counterparty_iban == "CH6709000000456789012"
    assert tx.end_to_end_id == "ABO-2025-03-0012"
    assert tx.remittance == "Helm-Leasing März 2025"


def test_postfinance_style_foreign_currency_batch_splits_by_the_chf_transaction_amounts() -> None:
    batch = one(POSTFINANCE_053).entries[10]
    assert (batch.amount, batch.batch_count) == (Decimal("-525.80"), 2)
    # No TxDtls/Amt: the CHF AmtDtls/TxAmt, not the instructed EUR amount.
    assert [
        (t.amount, t.currency, t.counterparty_name, t.counterparty_iban, t.reference_type)
        for t in batch.transactions
    ] == [
        (Decimal("-382.40"), "CHF", "Fahrradteile Schmid GmbH", "DE65500105170648291735", None),
        (
            Decimal("-143.40"),
            "CHF",
            "Radsport Vogel KG",
            "AT611904300234573201",
            ReferenceType.SCOR,
        ),
    ]
    assert batch.split_difference == 0


def test_iso_example_style_v04_other_account_datetimes_and_batches() -> None:
    s = one(ISO_STYLE_053)
    assert s.account_iban is None
    assert s.account_id == "71230000098760000012"
    assert s.account_owner == "NORDLYS TRADING AS"
    assert s.currency == "NOK"
    first, batch, fx = s.entries
    # BookgDt/DtTm "2025-04-14T00:30:00+02:00" (22:30 UTC the day before): the bank's date.
    assert first.booking_date == date(2025, 4, 14)
    # One TxDtls whose own amount is 0: the entry's booked amount counts.
    [tx] = first.transactions
    assert (tx.amount, tx.currency) == (Decimal("48250.75"), "NOK")
    assert tx.counterparty_name == "HAUGEN MARITIME"
    assert tx.end_to_end_id == "HAUGEN/NORD/INV7781"
    # A batch of 15 without TxDtls: one transaction with the entry's amount.
    assert (batch.amount, batch.batch_count) == (Decimal("-120000"), 15)
    assert [(t.amount, t.counterparty_name) for t in batch.transactions] == [
        (Decimal("-120000"), None)
    ]
    # One TxDtls in EUR on a NOK entry: the booked NOK amount.
    assert [(t.amount, t.currency) for t in fx.transactions] == [(Decimal("21500"), "NOK")]
    assert check_balance(s) is None  # 250000 + 48250.75 - 120000 + 21500 = 199750.75


def test_notification_qrr_batch_same_in_v04_and_v08_layouts() -> None:
    v04 = one(QRR_054_V04)
    v08 = one(QRR_054_V08)
    assert (v04.kind, v04.version, v08.kind, v08.version) == (
        StatementKind.CAMT054,
        4,
        StatementKind.CAMT054,
        8,
    )
    for s in (v04, v08):
        assert s.account_iban == "CH8009000000765432108"
        assert s.opening is None and s.closing is None
        assert check_balance(s) is None  # a notification has no balances
        [entry] = s.entries
        assert entry.amount == Decimal("1632.75")
        assert entry.entry_reference == "CH3130000001765432108"  # the QR-IBAN credited
        assert entry.batch_count == 2
        first, second = entry.transactions
        assert first.amount == Decimal("1245.60")
        assert first.counterparty_name == "Aebischer Claudia"  # Dbtr/Nm vs Dbtr/Pty/Nm
        assert first.counterparty_iban == "CH4500700115200876543"
        assert first.reference == "210045789103557202505190046"
        assert first.reference_type is ReferenceType.QRR
        assert first.end_to_end_id == "QRB-20250519-7F3K2"
        assert first.bank_reference == "250520QRHW000002"
        assert first.remittance is None  # "?REJECT?0", "?ERROR?000": PostFinance's markers
        assert (second.amount, second.reference) == (
            Decimal("387.15"),
            "210045789103557202505190114",
        )
        assert second.end_to_end_id is None
    assert v04.entries[0].transactions == v08.entries[0].transactions


def test_esr_debit_names_the_creditor() -> None:
    s = one(ESR_DEBIT_054)
    [entry] = s.entries
    assert entry.amount == Decimal("-236.40")
    assert (entry.booking_date, entry.value_date) == (date(2025, 5, 12), date(2025, 5, 13))
    [tx] = entry.transactions
    assert tx.counterparty_name == "Ramseier Beat"
    assert tx.counterparty_iban == "CH3009000000445566778"
    # Untyped, 27 digits: an old ESR reference, read as a QR reference.
    assert tx.reference == "000000123450000000020250516"
    assert tx.reference_type is ReferenceType.QRR
    # Only a bank marker as its own text: the single payment takes the entry's.
    assert tx.remittance == (
        "SAMMELLASTSCHRIFT ESR VERARBEITUNG VOM 12.05.2025 KUNDENNUMMER 03-2000-5 "
        "PAKET ID: 250512CH00000XQ4"
    )


def test_es_batch_unstructured_text_and_names() -> None:
    [entry] = one(ES_BATCH_054).entries
    assert [
        (t.amount, t.counterparty_name, t.remittance, t.reference) for t in entry.transactions
    ] == [
        (Decimal("180.00"), "Marti Ursula", "KURSGELD FRÜHLING 2025", None),
        (Decimal("25.00"), "Baumann Peter", "MITGLIEDERBEITRAG", None),
    ]


def test_v08_party_layout_typed_scor_and_other_account() -> None:
    s = one(MIXED_V08)
    assert (s.kind, s.version) == (StatementKind.CAMT053, 8)
    assert s.account_iban is None
    assert s.account_id == "NL81RABO0312345678"
    [entry] = s.entries
    assert (entry.amount, entry.currency) == (Decimal("12.40"), "EUR")
    assert (entry.booking_date, entry.value_date) == (date(2024, 12, 30), date(2025, 1, 2))
    [tx] = entry.transactions
    assert tx.counterparty_name == "JANSSEN EN ZONEN"  # the debtor of a credit, Dbtr/Pty/Nm
    assert tx.counterparty_iban == "BE68539007547034"
    # Typed SCOR though it is no RF reference: the type wins over the shape.
    assert (tx.reference, tx.reference_type) == ("7788990011223344", ReferenceType.SCOR)
    # Its balances are in two currencies: no sum can be checked.
    assert check_balance(s) == "opening balance in EUR, closing balance in SEK"


# --- edge cases -----------------------------------------------------------------------------


def test_handmade_v08_two_statements_in_one_file() -> None:
    chf, eur = parse_camt(raw(HANDMADE_V08))
    assert chf.message_id == eur.message_id == "HM-MSG-20261130"
    assert (chf.statement_id, eur.statement_id) == ("HM-STMT-CHF-2026-11", "HM-STMT-EUR-2026-11")
    assert (chf.account_iban, eur.account_iban) == (
        "CH9300762011623852957",
        "CH5300762011623852958",  # written with spaces in the file
    )
    assert (chf.currency, eur.currency) == ("CHF", "EUR")
    assert (chf.period_from, chf.period_to) == (date(2026, 11, 1), date(2026, 11, 30))
    assert eur.opening is not None and eur.closing is not None
    assert eur.opening.amount == Decimal("200.00")  # PRCD when there is no OPBD
    assert eur.closing.amount == Decimal("-50.00")  # DBIT: overdrawn
    assert eur.entries[0].booking_date == date(2026, 11, 15)  # DtTm 23:30+01:00
    assert check_balance(chf) is None and check_balance(eur) is None


def test_handmade_v08_debit_batch_split_with_references() -> None:
    chf = parse_camt(raw(HANDMADE_V08))[0]
    batch = chf.entries[1]
    assert (batch.amount, batch.batch_count) == (Decimal("-1380.50"), 3)
    assert batch.additional_info == "SAMMELAUFTRAG 3 ZAHLUNGEN"
    rows = [
        (
            t.amount,
            t.counterparty_name,
            t.counterparty_iban,
            t.reference,
            t.reference_type,
            t.end_to_end_id,
            t.remittance,
            t.bank_reference,
        )
        for t in batch.transactions
    ]
    assert rows == [
        (
            Decimal("-1000.00"),
            "Gloor Elektro AG",
            "CH4431999123000889012",
            "000000000000123456789012343",
            ReferenceType.QRR,
            "PAY-2026-11-001",
            "Auftrag 4711",  # a QR-bill's message travels in Strd/AddtlRmtInf
            "HM-053-0002-1",
        ),
        (
            Decimal("-250.50"),
            "Papeterie Rösli GmbH",
            "CH1809000000250090342",
            "RF77R2025001",  # "RF77 R202 5001" in the file
            ReferenceType.SCOR,
            None,  # NOTPROVIDED
            None,
            "HM-053-0002-2",
        ),
        (
            Decimal("-130.00"),
            "Swisscom (Schweiz) AG",
            "CH8709000000300001234",
            None,
            None,
            "PAY-2026-11-003",
            "Kundennummer 123 November 2026",
            "HM-053-0002-3",
        ),
    ]
    assert batch.split_difference == 0


def test_handmade_v08_credit_names_the_debtor_not_us() -> None:
    [tx] = parse_camt(raw(HANDMADE_V08))[0].entries[0].transactions
    assert tx.amount == Decimal("1500.00")
    assert (tx.counterparty_name, tx.counterparty_iban) == (
        "Muster Kunde GmbH",
        "CH5604835012345678009",
    )
    assert (tx.reference, tx.reference_type) == ("210000000003139471430009017", ReferenceType.QRR)
    assert tx.remittance == "Rechnung 2026-117"


def test_handmade_v04_cdtr_nm_layout_and_spaced_qrr() -> None:
    s = one(HANDMADE_V04)
    assert (s.kind, s.version, s.currency) == (StatementKind.CAMT053, 4, "CHF")
    [batch] = s.entries
    assert [
        (t.amount, t.counterparty_name, t.counterparty_iban, t.reference, t.reference_type)
        for t in batch.transactions
    ] == [
        (
            Decimal("-500.00"),
            "Gloor Elektro AG",
            "CH4431999123000889012",
            "000000000000000000002025018",
            ReferenceType.QRR,
        ),
        (
            Decimal("-300.00"),
            "Treuhand Muster AG",
            "CH5604835012345678009",
            "RF37INV4711",
            ReferenceType.SCOR,
        ),
    ]
    assert check_balance(s) is None


def test_a_batch_that_cannot_be_split_keeps_the_entry_amount() -> None:
    # The second payment's amount is in another currency than the entry: no split.
    data = raw(HANDMADE_V04).replace(b'<Amt Ccy="CHF">300.00</Amt>', b'<Amt Ccy="EUR">300.00</Amt>')
    [batch] = one_from(data).entries
    assert [(t.amount, t.reference) for t in batch.transactions] == [(Decimal("-800.00"), None)]


def test_a_batch_whose_split_does_not_add_up_says_by_how_much() -> None:
    data = raw(HANDMADE_V04).replace(b">300.00<", b">290.00<")
    [batch] = one_from(data).entries
    assert [t.amount for t in batch.transactions] == [Decimal("-500.00"), Decimal("-290.00")]
    assert batch.split_difference == Decimal("-10.00")


def one_from(data: bytes) -> Statement:
    [statement] = parse_camt(data)
    return statement


# --- balance check --------------------------------------------------------------------------


def test_pending_entries_do_not_count_towards_the_booked_balance() -> None:
    chf = parse_camt(raw(HANDMADE_V08))[0]
    pending = [e for e in chf.entries if e.status is not EntryStatus.BOOKED]
    assert [(e.amount, e.status) for e in pending] == [(Decimal("99.00"), EntryStatus.PENDING)]
    assert check_balance(chf) is None


def test_a_manipulated_statement_fails_the_balance_check_with_the_difference() -> None:
    data = raw(POSTFINANCE_053).replace(b">49003.55<", b">49003.65<")
    assert check_balance(one_from(data)) == (
        "opening 48213.45 + entries 790.10 = 49003.55 CHF, "
        "but the closing balance is 49003.65 CHF (difference +0.10 CHF)"
    )


def test_a_statement_without_closing_balance_fails_the_check() -> None:
    data = raw(HANDMADE_V04).replace(b"<Cd>CLBD</Cd>", b"<Cd>CLAV</Cd>")
    assert check_balance(one_from(data)) == "the statement has no closing balance"


# --- entry keys -----------------------------------------------------------------------------


def test_entry_key_is_the_bank_reference_else_a_stable_hash() -> None:
    first = parse_camt(raw(HANDMADE_V08))[0]
    again = parse_camt(raw(HANDMADE_V08))[0]
    keys = [e.entry_key for e in first.entries]
    assert keys == [e.entry_key for e in again.entries]
    assert keys[0] == "ref:HM-053-0001"
    fee, same_fee = first.entries[2], first.entries[3]
    assert fee.entry_key.startswith("sha256:")
    # Two identical fee debits on one day are two entries, with two keys.
    assert fee.entry_key != same_fee.entry_key
    assert same_fee.entry_key == fee.entry_key + "#1"
    assert len(set(keys)) == len(keys)


def test_entry_keys_survive_an_overlapping_statement() -> None:
    # The same entries in a statement that starts one entry later keep their keys.
    full = parse_camt(raw(HANDMADE_V08))[0]
    start = raw(HANDMADE_V08).index(b"<Ntry>")
    end = raw(HANDMADE_V08).index(b"</Ntry>") + len(b"</Ntry>")
    shorter = parse_camt(raw(HANDMADE_V08)[:start] + raw(HANDMADE_V08)[end:])[0]
    assert [e.entry_key for e in shorter.entries] == [e.entry_key for e in full.entries[1:]]


def test_different_entries_have_different_hash_keys() -> None:
    fee = parse_camt(raw(HANDMADE_V08))[0].entries[2]
    other = fee.model_copy(update={"amount": Decimal("-13.00")})
    later = fee.model_copy(update={"booking_date": date(2026, 12, 31)})
    assert len({fee.entry_key, other.entry_key, later.entry_key}) == 3
    postfinance = one(POSTFINANCE_053)
    assert len({e.entry_key for e in postfinance.entries}) == 11


# --- recognising ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        cii_xml(),
        b"%PDF-1.7\n1 0 obj\n<< >>\nendobj\n",
        b"just some text",
        b"",
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>',
        b'<Other xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"/>',
    ],
    ids=["cii-invoice", "pdf", "text", "empty", "pain001", "not-a-document-root"],
)
def test_is_camt_is_false_for_other_files(data: bytes) -> None:
    assert not is_camt(data)
    with pytest.raises(CamtError):
        parse_camt(data)


def test_intake_sniffing_accepts_camt_only_by_content() -> None:
    assert sniff(raw(HANDMADE_V04)) is MediaType.XML
    pain = (
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>'
    )
    assert sniff(pain) is None


def test_camt_inside_a_zip_is_a_member() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("auszug.xml", raw(QRR_054_V08))
    result = open_zip(buffer.getvalue())
    assert [(m.name, m.media_type) for m in result.members] == [("auszug.xml", MediaType.XML)]
    assert is_camt(result.members[0].data)


# --- errors ---------------------------------------------------------------------------------


def test_not_camt_error_names_the_root() -> None:
    with pytest.raises(
        CamtError, match=r"not a camt.053 or camt.054 file \(root element CrossIndustryInvoice\)"
    ):
        parse_camt(cii_xml())


@pytest.mark.parametrize("version", [b"01", b"99"])
def test_unsupported_version(version: bytes) -> None:
    data = raw(HANDMADE_V04).replace(b"camt.053.001.04", b"camt.053.001." + version)
    assert is_camt(data)  # recognised as a statement, then refused clearly
    with pytest.raises(CamtError, match=r"unsupported version camt.053.001." + version.decode()):
        parse_camt(data)


def test_broken_xml() -> None:
    data = raw(HANDMADE_V04)
    with pytest.raises(CamtError, match="not well-formed XML"):
        parse_camt(data[: len(data) // 2])


def test_missing_account() -> None:
    data = raw(HANDMADE_V04).replace(
        b"<Id><IBAN>CH9300762011623852957</IBAN></Id>\n      </Acct>", b"</Acct>"
    )
    with pytest.raises(CamtError, match=r"statement HM-STMT-V04-2026-10: no account"):
        parse_camt(data)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b">800.00<", b">800,00<", r"entry 1 \(HM-V04-0001\): amount '800,00' is not a number"),
        (
            b"<CdtDbtInd>DBIT</CdtDbtInd>\n        <RvslInd>",
            b"<CdtDbtInd>X</CdtDbtInd>\n        <RvslInd>",
            "credit/debit indicator 'X'",
        ),
        (b"<Dt>2026-10-20</Dt>", b"<Dt>20.10.2026</Dt>", "'20.10.2026' is not a date"),
        (b"<Sts>BOOK</Sts>", b"<Sts>WHAT</Sts>", "unknown entry status 'WHAT'"),
    ],
    ids=["amount", "indicator", "date", "status"],
)
def test_bad_values_are_named(old: bytes, new: bytes, message: str) -> None:
    data = raw(HANDMADE_V04)
    assert old in data
    with pytest.raises(CamtError, match=message):
        parse_camt(data.replace(old, new, 1))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY a0 "ha">
 <!ENTITY a1 "&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;">
 <!ENTITY a2 "&a1;&a1;&a1;&a1;&a1;&a1;&a1;&a1;&a1;&a1;">
 <!ENTITY a3 "&a2;&a2;&a2;&a2;&a2;&a2;&a2;&a2;&a2;&a2;">
 <!ENTITY a4 "&a3;&a3;&a3;&a3;&a3;&a3;&a3;&a3;&a3;&a3;">
 <!ENTITY a5 "&a4;&a4;&a4;&a4;&a4;&a4;&a4;&a4;&a4;&a4;">
 <!ENTITY a6 "&a5;&a5;&a5;&a5;&a5;&a5;&a5;&a5;&a5;&a5;">
 <!ENTITY a7 "&a6;&a6;&a6;&a6;&a6;&a6;&a6;&a6;&a6;&a6;">
 <!ENTITY a8 "&a7;&a7;&a7;&a7;&a7;&a7;&a7;&a7;&a7;&a7;">
 <!ENTITY a9 "&a8;&a8;&a8;&a8;&a8;&a8;&a8;&a8;&a8;&a8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"><BkToCstmrStmt>
<GrpHdr><MsgId>&a9;</MsgId></GrpHdr></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"><BkToCstmrStmt>
<GrpHdr><MsgId>&xxe;</MsgId></GrpHdr><Stmt><Id>&xxe;</Id>
<Acct><Id><IBAN>CH9300762011623852957</IBAN></Id></Acct></Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_hostile_xml_is_refused_without_expanding(data: bytes) -> None:
    assert not is_camt(data)
    started = time.perf_counter()
    with pytest.raises(CamtError, match="DOCTYPE") as refused:
        parse_camt(data)
    assert time.perf_counter() - started < 1.0
    assert "root:" not in str(refused.value)  # nothing of /etc/passwd
    assert "haha" not in str(refused.value)


def test_size_and_entry_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    data = raw(POSTFINANCE_053)  # 11 entries, 21 TxDtls
    monkeypatch.setattr(camt, "MAX_CAMT_ITEMS", 31)
    with pytest.raises(CamtError, match=r"too many entries in one file \(32, at most 31\)"):
        parse_camt(data)
    monkeypatch.setattr(camt, "MAX_CAMT_ITEMS", 32)
    assert parse_camt(data)
    monkeypatch.setattr(camt, "MAX_CAMT_BYTES", len(data) - 1)
    with pytest.raises(CamtError, match="file too large"):
        parse_camt(data)
    assert not is_camt(data)
