"""What corrections taught about one supplier, for one client (DESIGN.md, "Working a task").

`Learned` is handed to routing as an argument (routing stays pure): per `LearnedField`
the value, who taught it and when, so a booking's reasons can name the correction it
follows ("account 6570: learned from correction by anna on 2026-12-04"). The supplier's
learned name and IBAN aliases and the positions its layout prints fields at come along,
for the supplier page and the API.
"""

from datetime import datetime

from pydantic import BaseModel, Field

from domain.enums import AliasKind, LearnedField, LearnedHow, SupplierStatus
from domain.extraction import Address


class LearnedValue(BaseModel):
    """One learned value: the latest correction of that field wins."""

    field: LearnedField
    value: str
    learned_by: str
    learned_at: datetime
    document_id: int | None = None

    @property
    def source(self) -> str:
        """How reasons name it: "learned from correction by anna on 2026-12-04"."""
        return f"learned from correction by {self.learned_by} on {self.learned_at.date()}"


class LearnedAlias(BaseModel):
    kind: AliasKind
    value: str  # as printed
    learned_by: str
    learned_at: datetime


class LearnedPosition(BaseModel):
    """Where the supplier's layout prints a field: fractions of the page, origin top left."""

    field: str
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    learned_by: str
    learned_at: datetime


class Learned(BaseModel):
    client_id: str
    supplier_id: str
    values: dict[LearnedField, LearnedValue] = Field(default_factory=dict)
    aliases: list[LearnedAlias] = Field(default_factory=list)
    positions: list[LearnedPosition] = Field(default_factory=list)
    history: list["LearnedChangeView"] = Field(default_factory=list)  # newest first

    def get(self, field: LearnedField) -> LearnedValue | None:
        return self.values.get(field)

    @property
    def account(self) -> LearnedValue | None:
        return self.get(LearnedField.ACCOUNT)

    @property
    def vat_code(self) -> LearnedValue | None:
        return self.get(LearnedField.VAT_CODE)

    @property
    def payment_method(self) -> LearnedValue | None:
        return self.get(LearnedField.PAYMENT_METHOD)

    @property
    def private(self) -> bool:
        value = self.get(LearnedField.PRIVATE)
        return value is not None and value.value == "true"

    @property
    def empty(self) -> bool:
        return not (self.values or self.aliases or self.positions)


class LearnedChangeView(BaseModel):
    """One change of a learned rule, for the supplier page's history."""

    field: LearnedField
    before: str | None = None
    after: str | None = None  # None: deleted
    how: LearnedHow
    by: str
    at: datetime
    document_id: int | None = None


class SupplierView(BaseModel):
    """The supplier resource: master data, and what was learned for one client."""

    id: str
    name: str
    uid: str | None = None
    ibans: list[str] = Field(default_factory=list)
    address: Address | None = None
    account: str | None = None  # the master data's default account
    status: SupplierStatus
    client_id: str | None = None  # whose learned rules `learned` holds
    learned: Learned | None = None  # None: staff asked without `?client=`


class LearnedValueBody(BaseModel):
    """`PUT /api/v1/suppliers/{id}/learned/{field}`: the value to use from now on."""

    value: str | bool | None = Field(default=None, description="account, VAT code, ...")


Learned.model_rebuild()
