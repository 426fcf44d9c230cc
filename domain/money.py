"""Money helpers. Money is Decimal, always two places, never float."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import PlainSerializer

CENT = Decimal("0.01")


def to_money(value: Decimal | int | str) -> Decimal:
    """Round to Rappen/cents the commercial way (half up), as Swiss invoices do."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# Serialised as a string with exactly two places ("1949.75"), so JSON never carries a float.
Money = Annotated[
    Decimal,
    PlainSerializer(lambda v: f"{to_money(v):.2f}", return_type=str, when_used="json"),
]
# VAT rates keep their own precision ("8.1", "2.6").
Rate = Annotated[
    Decimal,
    PlainSerializer(lambda v: format(v.normalize(), "f"), return_type=str, when_used="json"),
]
