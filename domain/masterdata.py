"""The master-data file `fiduflow setup load FILE.yaml` reads (DESIGN.md, "Master data").

Validation happens here, at the edge: a bad file is refused with a message naming the
entry, before anything is written. `posting_rules_from` does the same for a client's
posting rules given on their own (`fiduflow rules set`, the API).
"""

from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from domain.enums import Access, Activity, ClientMode, Party, Phase, VatMethod
from domain.identifiers import normalize_iban, normalize_uid
from domain.reconciliation import BankAccount, Banking, PostingRule, ReconciliationSettings

Language = Literal["de", "fr", "it", "en"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressSpec(Strict):
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str = "CH"


class FiduciarySpec(Strict):
    name: str
    inbound_domain: str


# Shorter passwords are refused at load (what a web login guards is a client's books).
MIN_PASSWORD_LENGTH = 12


def _check_password(who: str, password: str | None) -> None:
    """Refuse a short password, naming whose it is (never the password itself)."""
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"{who}: the password has {len(password)} characters; use at least "
            f"{MIN_PASSWORD_LENGTH}"
        )


class StaffSpec(Strict):
    username: str
    password: str | None = None
    token: str | None = None

    @model_validator(mode="after")
    def _password(self) -> Self:
        _check_password(f"staff user {self.username!r}", self.password)
        return self


class UserSpec(Strict):
    username: str
    access: Access = Access.EMPLOYEE
    password: str | None = None
    token: str | None = None
    # Mail from this address counts as the user's own submission (an employee sees it);
    # digests and reminders go here.
    email: str | None = Field(default=None, pattern=r"^[^@\s<>]+@[^@\s<>]+$", max_length=254)
    language: Language | None = None

    @model_validator(mode="after")
    def _password(self) -> Self:
        _check_password(f"user {self.username!r}", self.password)
        return self


class ContactSpec(Strict):
    """Where the fiduciary's requests to the client go (offline clients: "ask the client"
    and its reminders are mails to this address)."""

    email: str = Field(pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+$", max_length=254)


# A policy override is either one party for every phase, or a party per phase.
PolicyValue = Party | dict[Phase, Party]


class ClientSpec(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    name: str
    mode: ClientMode
    address: AddressSpec | None = None
    uid: str | None = None
    iban: str | list[str] | None = None
    inbound: str | None = None
    vat_method: VatMethod = VatMethod.EFFECTIVE
    # Which column of the division of labour applies to its documents: `setup` while the
    # fiduciary takes the client on (everything is the fiduciary's by default), `regular`
    # afterwards, `period_close` during a year-end close.
    phase: Phase = Phase.REGULAR
    users: list[UserSpec] = Field(default_factory=list)
    suppliers: list[str] = Field(default_factory=list)
    # Company users see payslips (the documents and their tasks) only when true.
    payroll_visible: bool = False
    contact: ContactSpec | None = None
    # Pages, mails and task texts for users without a language of their own.
    language: Language | None = None
    policy: dict[Activity, PolicyValue] = Field(default_factory=dict)
    # Bank reconciliation: tolerances, the ledger account of each own IBAN, and the
    # recurring entries booked without a document (DESIGN.md, "Master data").
    reconciliation: ReconciliationSettings = Field(default_factory=ReconciliationSettings)
    bank_accounts: list[BankAccount] = Field(default_factory=list)
    posting_rules: list[PostingRule] = Field(default_factory=list)

    @field_validator("uid")
    @classmethod
    def _uid(cls, v: str | None) -> str | None:
        return normalize_uid(v) if v else None

    @property
    def ibans(self) -> list[str]:
        raw = [self.iban] if isinstance(self.iban, str) else (self.iban or [])
        return [normalize_iban(i) for i in raw]

    @property
    def banking(self) -> Banking:
        return Banking(
            reconciliation=self.reconciliation,
            bank_accounts=self.bank_accounts,
            posting_rules=self.posting_rules,
        )

    @model_validator(mode="after")
    def _banking(self) -> Self:
        # The rules are valid one by one here; together they must have distinct names,
        # since a booked entry names the rule that took it.
        try:
            _ = self.banking
        except ValidationError as exc:
            raise ValueError(f"client {self.id}: {_reasons(exc.errors())}") from None
        return self

    @model_validator(mode="after")
    def _offline_rules(self) -> Self:
        if self.mode is ClientMode.OFFLINE:
            for user in self.users:
                if user.access is Access.COMPANY:
                    raise ValueError(
                        f"client {self.id}: user {user.username!r} cannot have company access "
                        "because the client is offline (offline clients have employee access only)"
                    )
            for activity, value in self.policy.items():
                parties = [value] if isinstance(value, Party) else list(value.values())
                if Party.CLIENT in parties:
                    raise ValueError(
                        f"client {self.id}: an offline client cannot be responsible for "
                        f"{activity.value}; make the client online first or leave it to the "
                        "fiduciary"
                    )
        return self


class SupplierSpec(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    name: str
    uid: str | None = None
    iban: str | list[str] | None = None
    address: AddressSpec | None = None
    account: str | None = None

    @field_validator("uid")
    @classmethod
    def _uid(cls, v: str | None) -> str | None:
        return normalize_uid(v) if v else None

    @property
    def ibans(self) -> list[str]:
        raw = [self.iban] if isinstance(self.iban, str) else (self.iban or [])
        return [normalize_iban(i) for i in raw]


class MasterData(Strict):
    fiduciary: FiduciarySpec
    staff: list[StaffSpec] = Field(default_factory=list)
    clients: list[ClientSpec] = Field(default_factory=list)
    suppliers: list[SupplierSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Self:
        supplier_ids = {s.id for s in self.suppliers}
        seen_users: set[str] = {s.username for s in self.staff}
        for client in self.clients:
            for sid in client.suppliers:
                if sid not in supplier_ids:
                    raise ValueError(f"client {client.id}: supplier {sid!r} is not in suppliers")
            for user in client.users:
                if user.username in seen_users:
                    raise ValueError(f"username {user.username!r} is used twice")
                seen_users.add(user.username)
        ids = [c.id for c in self.clients]
        if len(ids) != len(set(ids)):
            raise ValueError("client ids must be unique")
        return self

    @model_validator(mode="after")
    def _identities(self) -> Self:
        """A UID names one client (documents are matched to clients by it), and inbound
        addresses are in the firm's inbound domain (the only one its SMTP takes mail for)."""
        domain = self.fiduciary.inbound_domain.strip().lower()
        uids: dict[str, str] = {}
        for client in self.clients:
            if client.uid:
                if client.uid in uids:
                    raise ValueError(
                        f"client {client.id}: UID {client.uid} is already client "
                        f"{uids[client.uid]}'s"
                    )
                uids[client.uid] = client.id
            if client.inbound is not None:
                _, at, host = client.inbound.strip().rpartition("@")
                if not at or host.lower() != domain:
                    raise ValueError(
                        f"client {client.id}: inbound address {client.inbound!r} is not in "
                        f"the firm's inbound domain {domain!r} (fiduciary.inbound_domain)"
                    )
        return self


# --- posting rules on their own (`fiduflow rules set`, PUT …/posting-rules) -------------


class InvalidPostingRules(ValueError):
    """Rules refused; the message names each rule (number and name) and field at fault."""


_RULES = TypeAdapter(list[PostingRule])


def _reason(error: ErrorDetails) -> str:
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])  # our own words, without pydantic's prefix
    return error["msg"]


def _reasons(errors: list[ErrorDetails]) -> str:
    return "; ".join(_reason(e) for e in errors)


def _rule_problem(error: ErrorDetails, raw: list[Any]) -> str:
    index, *field = error["loc"] or ("",)
    if not isinstance(index, int):
        return _reason(error)
    entry = raw[index] if index < len(raw) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    rule = f"posting rule {index + 1}" + (f" ({name!r})" if isinstance(name, str) else "")
    where = ".".join(str(part) for part in field)
    return f"{rule}: {where + ': ' if where else ''}{_reason(error)}"


def posting_rules_from(raw: object) -> list[PostingRule]:
    """A client's complete list of posting rules, from a file's or a request's JSON: a
    list of rules, or `{"posting_rules": [...]}` as in the master data."""
    if isinstance(raw, dict) and set(raw) == {"posting_rules"}:
        raw = raw["posting_rules"]
    if not isinstance(raw, list):
        raise InvalidPostingRules(
            "expected a list of posting rules (or {posting_rules: [...]}), "
            'e.g. [{"name": "Rent", "counterparty_iban": "CH56 0483 5012 3456 7800 9", '
            '"account": "6000"}]'
        )
    try:
        rules = _RULES.validate_python(raw)
        Banking(posting_rules=rules)
    except ValidationError as exc:
        problems = [_rule_problem(e, raw) for e in exc.errors(include_url=False)]
        raise InvalidPostingRules("; ".join(problems)) from None
    return rules
