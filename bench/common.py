"""Shared by the benchmarks: make the repository importable, compare values with truth."""

import sys
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The printed schema's fields, from the model (DESIGN.md's `fiduflow extract` order).
from domain.extraction import PAGE_FIELDS  # noqa: E402

FIELDS = ["doc_type", "language", *PAGE_FIELDS, "has_qr"]
QR_FIELDS = ["supplier_iban", "total", "currency", "reference"]


def norm_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value)
    return " ".join(value.replace("’", "'").split()).casefold()


def vat_key(lines: list[Any]) -> set[tuple[Decimal, Decimal | None, Decimal | None]]:
    out = set()
    for v in lines or []:
        get = v.get if isinstance(v, dict) else lambda k, v=v: getattr(v, k)
        rate, base, amount = get("rate"), get("base"), get("amount")
        out.add(
            (
                Decimal(rate).normalize(),
                None if base is None else Decimal(base),
                None if amount is None else Decimal(amount),
            )
        )
    return out


def truth_value(truth: Any, field: str) -> Any:
    value = getattr(truth, field, None)
    if field == "doc_type" and value == "customer_invoice":
        # The reader cannot know whose invoice it is: routing decides (DESIGN.md).
        return "supplier_invoice"
    return value


def ours_value(extraction: Any, field: str) -> Any:
    value = getattr(extraction, field)
    if field == "doc_type":
        return value.value if hasattr(value, "value") else value
    return value


def same(field: str, ours: Any, truth: Any) -> bool:
    if field == "vat":
        return vat_key(ours) == vat_key(truth)
    if field in ("supplier_name", "invoice_number"):
        return norm_text(ours) == norm_text(truth)
    if field == "total":
        return ours is not None and truth is not None and Decimal(ours) == Decimal(truth)
    return ours == truth


def applicable(field: str, ours: Any, truth: Any) -> bool:
    """A field counts when the truth has it, or when we claim one it does not have."""
    if field == "vat":
        return bool(truth) or bool(ours)
    if field == "has_qr":
        return True
    return truth is not None or ours is not None


def offline_firm(
    client: Any, companies: dict[str, Any], accounts: dict[str, str] | None = None
) -> dict[str, Any]:
    """Master data of one offline client `C01` (a docgen `Company`) whose suppliers are
    known by name, UID, IBAN and address — and, where `accounts` names it, the account
    each is booked to (without one, the first documents of a supplier need a person)."""
    accounts = accounts or {}
    address = {"street": client.street_line, "postcode": client.postcode, "city": client.city}
    return {
        "fiduciary": {"name": "Treuhand Muster AG", "inbound_domain": "in.treuhand.example"},
        "staff": [{"username": "anna", "password": "anna-pw-123456", "token": "t-anna"}],
        "clients": [
            {
                "id": "C01",
                "name": client.name,
                "mode": "offline",
                "address": address,
                "uid": client.uid,
                "inbound": "c01@in.treuhand.example",
                "users": [],
                "suppliers": list(companies),
            }
        ],
        "suppliers": [
            {
                "id": supplier_id,
                "name": c.name,
                "uid": c.uid,
                "iban": [i for i in (c.iban, c.qr_iban) if i],
                "address": {"street": c.street_line, "postcode": c.postcode, "city": c.city},
                **({"account": accounts[supplier_id]} if supplier_id in accounts else {}),
            }
            for supplier_id, c in companies.items()
        ],
    }
