"""Realistic Swiss fiduciary test documents with ground truth (tests and benchmarks).

Deterministic: the same seed gives the same bytes. Nothing is downloaded: names,
places, fonts (reportlab's Vera) and rates ship with the code. See each maker's
docstring for what its `Truth` fields mean.
"""

from .bundles import invoice_with_letter
from .corpus import corpus
from .degrade import photo, scan
from .einvoice import facturx_invoice, xrechnung_xml
from .identities import (
    qr_iban,
    qrr_reference,
    random_client_company,
    random_company,
    scor_reference,
    swiss_iban,
    swiss_uid,
)
from .invoices import credit_note, customer_invoice, reminder, supplier_invoice
from .letters import letter
from .model import Company, GeneratedDocument, Truth
from .receipts import multi_receipt_pdf, receipt
from .statements import bank_statement, payslip

__all__ = [
    "Company",
    "GeneratedDocument",
    "Truth",
    "bank_statement",
    "corpus",
    "credit_note",
    "customer_invoice",
    "facturx_invoice",
    "invoice_with_letter",
    "letter",
    "multi_receipt_pdf",
    "payslip",
    "photo",
    "qr_iban",
    "qrr_reference",
    "random_client_company",
    "random_company",
    "receipt",
    "reminder",
    "scan",
    "scor_reference",
    "supplier_invoice",
    "swiss_iban",
    "swiss_uid",
    "xrechnung_xml",
]
