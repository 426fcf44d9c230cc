"""What a person may correct on a task (DESIGN.md, "Working a task").

`POST /api/v1/tasks/{id}/complete` takes `{"corrections": {FIELD: VALUE, …}, "note": …}`.
Each field is validated here, at the edge: a wrong value answers 422 naming the field.
"""

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.enums import PaymentMethod
from domain.extraction import PAGE_FIELDS, VatLine
from domain.money import Money
from domain.records import BookingLine

# The fields of a document's reading a correction may change (source becomes `corrected`).
# (The supplier's name, UID and IBAN are corrected by choosing the supplier, `supplier_id`.)
READING_FIELDS = PAGE_FIELDS[PAGE_FIELDS.index("invoice_number") :]


class Corrections(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supplier_id: str | None = Field(default=None, max_length=40)
    invoice_number: str | None = Field(default=None, max_length=64)
    issue_date: date | None = None
    due_date: date | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    total: Money | None = None
    vat: list[VatLine] | None = None
    reference: str | None = Field(default=None, max_length=40)
    payment_method: PaymentMethod | None = None
    account: str | None = Field(default=None, pattern=r"^\d{4}$")
    vat_code: str | None = Field(default=None, max_length=20)
    # A full replacement of the proposed lines (must balance).
    lines: list[BookingLine] | None = None

    @field_validator("lines")
    @classmethod
    def _balanced(cls, lines: list[BookingLine] | None) -> list[BookingLine] | None:
        if lines is None:
            return None
        debit = sum((line.debit for line in lines), start=0)
        credit = sum((line.credit for line in lines), start=0)
        if not lines or debit != credit or debit == 0:
            raise ValueError(f"the lines must balance (debit {debit}, credit {credit})")
        return lines

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.issue_date and self.due_date and self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        return self

    def given(self) -> dict[str, object]:
        """The fields the person set (None is not a correction)."""
        return self.model_dump(exclude_none=True)


class CompleteBody(BaseModel):
    """The optional body of `complete`: no body is release / approve as read."""

    model_config = ConfigDict(extra="forbid")

    corrections: Corrections | None = None
    note: str | None = Field(default=None, max_length=2000)
