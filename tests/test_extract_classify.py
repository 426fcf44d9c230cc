"""Document type and language from made-up pages: words in seven languages, what tells an
invoice from a till receipt, and a confidence that follows the evidence."""

import pytest

from domain.enums import DocType, TextSource
from extractors.classify import classify_pages, classify_reading, type_confidence
from extractors.language import detect_language
from extractors.reading import PageText, Reading, Word
from routing.decide import SURE_TYPE

BODY = 10.0
TITLE = 20.0
Row = str | tuple[str, float]


def page(
    rows: list[Row],
    *,
    width: float = 595.0,
    height: float = 842.0,
    left: float = 50.0,
    source: TextSource = TextSource.TEXT_LAYER,
) -> PageText:
    """A page with one line per row, words laid out left to right from `left`; a row
    given as (text, size) is set in that font size."""
    words: list[Word] = []
    top = 60.0
    for row in rows:
        text, size = (row, BODY) if isinstance(row, str) else row
        x = left
        for token in text.split():
            x1 = x + len(token) * size * 0.5
            words.append(
                Word(text=token, page=1, x0=x, top=top, x1=x1, bottom=top + size, size=size)
            )
            x = x1 + size * 0.5
        top += size * 1.6
    text = "\n".join(r if isinstance(r, str) else r[0] for r in rows)
    return PageText(number=1, width=width, height=height, text=text, words=words, source=source)


def kind_of(*pages: PageText, payable: float = 0.0) -> tuple[str, float]:
    kind, confidence, _scores = classify_pages(list(pages), payable=payable)
    return kind, confidence


# --- invoices in the languages of the documents Swiss firms receive -------------------------


def test_dutch_invoice_is_an_invoice() -> None:
    kind, conf = kind_of(
        page(
            [
                "Bakkerij De Molenwiek B.V.",
                "Dorpsstraat 4, 1234 AB Ergens",
                ("FACTUUR", TITLE),
                "Factuurnummer: 2024-118",
                "Factuurdatum: 03-05-2024",
                "Vervaldatum: 02-06-2024",
                "Omschrijving  Aantal  Bedrag",
                "Brood  2  7,00",
                "Subtotaal  7,00",
                "BTW 9%  0,63",
                "Totaal  EUR 7,63",
            ]
        )
    )
    assert kind == "invoice"
    assert conf >= 0.9


@pytest.mark.parametrize(
    "rows",
    [
        [
            ("Taller Ejemplo S.L.  FACTURA", TITLE),
            "Numero de factura: F-77",
            "Fecha de vencimiento: 30/06/2024",
            "Condiciones de pago: 30 dias",
            "Servicio de reparacion  1  120,00",
            "Total a pagar  145,20",
            "Gracias por su confianza",
        ],
        [
            ("Oficina Modelo Lda.  FATURA", TITLE),
            "Fatura n.º 2024/55",
            "Data de vencimento: 15/07/2024",
            "Dados bancarios: IBAN PT00 0000 0000 0000 0000 0000 0",
            "Consultoria  1  200,00",
            "Total  246,00",
            "Obrigado pela sua preferencia",
        ],
    ],
    ids=["es", "pt"],
)
def test_framed_invoice_screenshot_is_no_receipt(rows: list[Row]) -> None:
    """An invoice page in the middle of a wide image (a screenshot) forms a narrow column
    too, and thanks the customer like a till: its number label and due date make it an
    invoice."""
    shot = page(rows, width=841, height=626, left=300, source=TextSource.OCR)
    kind, conf = kind_of(shot)
    assert kind == "invoice"
    assert conf >= 0.9


def test_invoice_without_title_from_its_labels() -> None:
    """No title word anywhere, only the invoice's labels: an invoice, but not a sure one."""
    kind, conf = kind_of(
        page(
            [
                "Beispiel Werkstatt GmbH",
                "Rechnungsnummer: 55-2  Rechnungsdatum: 4. Mai 2024",
                "Pos.  Bezeichnung  Menge  Betrag",
                "1  Montage  2  180,00",
                "Summe brutto  214,20",
                "Zahlbar innert 30 Tagen netto",
                "IBAN DE00 0000 0000 0000 0000 00",
            ]
        )
    )
    assert kind == "invoice"
    assert SURE_TYPE <= conf < 0.9


def test_tax_invoice_of_a_hotel_is_no_receipt() -> None:
    """A hotel's invoice prints times and card payments; its title and bill number win."""
    kind, conf = kind_of(
        page(
            [
                ("TAX INVOICE", TITLE),
                "Hotel Example Residency",
                "Bill No: HR/0042  Date: 12/03/2024",
                "Check-in 14:00  Check-out 11:00",
                "Room tariff  2 nights  7,000.00",
                "CGST 6%  420.00  SGST 6%  420.00",
                "Paid by card  7,840.00",
                "Thank you for staying with us",
            ]
        )
    )
    assert kind == "invoice"
    assert conf >= 0.8


def test_letter_with_bank_details_only_is_no_invoice() -> None:
    """Bank details and a customer number alone ask for nothing."""
    kind, _conf = kind_of(
        page(
            [
                "Muster Treuhand AG",
                "Kundennummer: 4711",
                "Unsere neue Bankverbindung ab 1. Juli:",
                "IBAN CH00 0000 0000 0000 0000 0",
                "Freundliche Grüsse",
            ]
        )
    )
    assert kind == "other"


# --- credit notes and reminders share the invoice's payment evidence ----------------------


@pytest.mark.parametrize(
    "title",
    ["FACTURA RECTIFICATIVA", "NOTA DE CRÉDITO", "CREDITNOTA", "Creditfactuur"],
)
def test_credit_note_titles(title: str) -> None:
    kind, _conf = kind_of(
        page(
            [
                (title, TITLE),
                "Factura n.º 2024-17",
                "Total  -50,00",
            ]
        )
    )
    assert kind == "credit_note"


def test_reminder_keeps_its_type_beside_payment_evidence() -> None:
    """A reminder cites the invoice's number, due date and IBAN: its own words decide."""
    kind, _conf = kind_of(
        page(
            [
                "Muster Gartenbau AG",
                "Zahlungserinnerung",
                "Rechnung Nr. 2024-88 vom 2. April 2024",
                "Fälligkeit: 2. Mai 2024",
                "Offener Betrag  CHF 540.00",
                "IBAN CH00 0000 0000 0000 0000 0",
            ]
        )
    )
    assert kind == "reminder"


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("BETALINGSHERINNERING", "reminder"),
        ("Recordatorio de pago", "reminder"),
        ("Loonstrook", "payslip"),
        ("Nómina", "payslip"),
        ("Rekeningafschrift", "bank_statement"),
        ("Kassabon", "receipt"),
        # the longer title wins over the shorter one inside it
        ("Recibo de vencimento", "payslip"),
        ("FACTURA SIMPLIFICADA", "receipt"),
    ],
)
def test_titles_in_dutch_spanish_portuguese(title: str, kind: str) -> None:
    assert kind_of(page([(title, TITLE), "Datum 01-02-2024"]))[0] == kind


# --- till receipts -----------------------------------------------------------------------


def test_photo_of_a_till_receipt() -> None:
    rows = [
        "Cafe Ejemplo",
        "Calle Mayor 1",
        "Fecha 31-10-2024  Hora 13:10",
        "Mesa 4",
        "1 Cafe con leche  1,80",
        "1 Tostada  2,50",
        "TOTAL  4,30",
        "Efectivo  5,00",
        "Cambio  0,70",
        "Gracias por su visita",
        "IVA incluido",
        "Le atendio: Ana",
        "Ticket 0042",
        "*** ***",
        "Vuelva pronto",
        "1234 5678",
    ]
    photo = page(rows, width=841, height=626, left=360, source=TextSource.OCR)
    photo = photo.model_copy(
        update={"words": [w.model_copy(update={"top": w.top * 1.4}) for w in photo.words]}
    )
    kind, conf = kind_of(photo)
    assert kind == "receipt"
    assert conf >= SURE_TYPE


def test_narrow_column_alone_is_a_weak_receipt() -> None:
    """A narrow, tall column of text and nothing else: a receipt, said without certainty."""
    rows = [f"Artikel {i}  {i},00" for i in range(1, 20)]
    photo = page(rows, width=841, height=1200, left=380, source=TextSource.OCR)
    kind, conf = kind_of(photo)
    assert kind == "receipt"
    assert conf < 0.8


def test_qr_bill_is_an_invoice_whatever_the_page_says() -> None:
    pages = [page(["Besten Dank für Ihren Einkauf", "Total CHF 20.00"])]
    reading = Reading(pages=pages, qr_payloads=["SPC\n0200\n1"])
    result = classify_reading(reading)
    assert result.doc_type is DocType.SUPPLIER_INVOICE
    assert result.confidence < 0.99


# --- confidence ----------------------------------------------------------------------------


def test_confidence_follows_the_lead() -> None:
    assert type_confidence(2.0, 2.0) == pytest.approx(0.5)
    weak, clear, strong = (
        type_confidence(2.0, 0.0),
        type_confidence(6.0, 0.0),
        type_confidence(12.0, 0.0),
    )
    assert weak < clear < strong <= 0.99
    assert weak < 0.8
    assert strong >= 0.95


def test_conflicting_evidence_lowers_confidence() -> None:
    """The same lead over a strong runner-up is less sure than over nothing."""
    assert type_confidence(14.0, 8.0) < type_confidence(6.0, 0.0)


def test_clean_invoice_beats_routing_threshold_and_conflict_does_not_reach_099() -> None:
    clean = page(
        [
            ("Rechnung", TITLE),
            "Rechnung Nr. 10201409",
            "Kunden-Nr. 887",
            "Total CHF 1'949.75",
            "Zahlbar innert 30 Tagen",
            "IBAN CH00 0000 0000 0000 0000 0",
        ]
    )
    kind, conf = kind_of(clean)
    assert kind == "invoice"
    assert conf >= 0.95
    torn = page(
        [
            ("Rechnung", TITLE),
            ("Quittung", TITLE),
            "Bar bezahlt 14:02  Rückgeld 0.50",
            "Total CHF 19.50",
        ]
    )
    assert kind_of(torn)[1] < 0.9


# --- language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "Wir danken Ihnen für den Auftrag und bitten Sie, den Betrag innert 30 Tagen "
            "zu überweisen. Freundliche Grüsse",
            "de",
        ),
        (
            "Nous vous remercions de votre commande et vous prions de payer le montant "
            "dans les 30 jours. Meilleures salutations",
            "fr",
        ),
        (
            "Vi ringraziamo per l'ordine e vi preghiamo di pagare l'importo entro 30 giorni. "
            "Distinti saluti",
            "it",
        ),
        (
            "Thank you for your order. Please pay the amount due within 30 days to the "
            "account below. Kind regards",
            "en",
        ),
        (
            "Wij danken u voor uw bestelling. Het totaalbedrag van deze factuur dient "
            "binnen 30 dagen te worden betaald. Met vriendelijke groet",
            "nl",
        ),
        (
            "Gracias por su pedido. El importe total de la factura debe pagarse antes de la "
            "fecha de vencimiento por transferencia a nuestra cuenta. Atentamente",
            "es",
        ),
        (
            "Obrigado pela sua encomenda. O valor total da fatura deve ser pago até à data "
            "de vencimento por transferência para a nossa conta. Cumprimentos",
            "pt",
        ),
    ],
)
def test_language_of_each_kind(text: str, language: str) -> None:
    assert detect_language(text)[0] == language


def test_language_through_ocr_noise() -> None:
    """Stray accents and fragments from a photo do not outvote the words."""
    noisy = (
        "le] Shop Example  12 Main Street  Sales Associate: Kim  1 Coffee mug  "
        "Sub-Total $ 12.00  Tax $ 1.00  Total $13.00  à Bnilt à sd é ç ee | _à"
    )
    assert detect_language(noisy)[0] == "en"


def test_language_confidence_grows_with_text() -> None:
    short = detect_language("Factuur totaal bedrag btw")
    long = detect_language(
        "Geachte heer, hierbij ontvangt u de factuur voor de levering van deze maand. "
        "Wij verzoeken u het totaal bedrag binnen 14 dagen over te maken op onze rekening. "
        "Met vriendelijke groet, en dank voor uw bestelling bij ons."
    )
    assert short[0] == long[0] == "nl"
    assert short[1] < long[1]
    assert detect_language("12.00 34.50 — ||")[0] is None
