"""Master data: the fiduciary, its staff, clients, users, inbound addresses, suppliers.

`load_master_data` is an idempotent upsert: loading the same file twice changes nothing,
loading a changed file updates what changed. Secrets are stored hashed only. A reload
keeps what people did: users no longer listed are disabled (not deleted; listed again,
they come back unless a person disabled them), a changed password or token ends the
user's web sessions, IBANs a person confirmed stay (storage/accounts.py,
storage/bank_details.py), and so do a client's reconciliation settings, bank accounts
and posting rules when the file leaves that section out (storage/posting_rules.py).
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.enums import Access, ClientMode, Phase, SupplierStatus, VatMethod
from domain.extraction import Address
from domain.identifiers import name_tokens, normalize_company_name
from domain.masterdata import AddressSpec, ClientSpec, MasterData, SupplierSpec
from domain.policy import DivisionOfLabour
from domain.reconciliation import Banking
from domain.records import Client, Supplier, User
from storage.accounts import LOADER
from storage.secrets import password_hash, password_matches, token_hash
from storage.tables import (
    ClientRow,
    ClientSupplier,
    Fiduciary,
    InboundAddress,
    StaffUser,
    SupplierIban,
    SupplierNameToken,
    SupplierRow,
    UserRow,
    utcnow,
)


class LoadSummary(dict[str, int]):
    pass


def load_master_data(session: Session, data: MasterData) -> LoadSummary:
    summary = LoadSummary(staff=0, clients=0, users=0, suppliers=0, links=0, disabled=0)
    fiduciary = session.get(Fiduciary, 1) or Fiduciary(id=1)
    fiduciary.name = data.fiduciary.name
    fiduciary.inbound_domain = data.fiduciary.inbound_domain.lower()
    session.add(fiduciary)

    for staff in data.staff:
        row = session.scalar(select(StaffUser).where(StaffUser.username == staff.username))
        row = row or StaffUser(username=staff.username)
        _set_secrets(row, staff.password, staff.token)
        session.add(row)
        summary["staff"] += 1

    for supplier in data.suppliers:
        upsert_supplier(session, supplier)
        summary["suppliers"] += 1
    session.flush()

    for spec in data.clients:
        client = session.get(ClientRow, spec.id) or ClientRow(id=spec.id)
        client.name = spec.name
        client.mode = spec.mode.value
        _set_address(client, spec.address)
        if spec.uid:
            # The file's own clients have different UIDs (MasterData); a client loaded
            # earlier and not in this file may hold it still.
            holder = session.scalar(
                select(ClientRow.id).where(ClientRow.uid == spec.uid, ClientRow.id != spec.id)
            )
            if holder is not None and holder not in {c.id for c in data.clients}:
                raise ValueError(f"client {spec.id}: UID {spec.uid} is already client {holder}'s")
        client.uid = spec.uid
        client.ibans = spec.ibans
        client.vat_method = spec.vat_method.value
        client.phase = spec.phase.value
        client.payroll_visible = spec.payroll_visible
        client.contact_email = spec.contact.email.lower() if spec.contact else None
        client.language = spec.language
        client.banking = _banking(spec, client.banking).model_dump(mode="json")
        client.policy = DivisionOfLabour.from_overrides(
            spec.mode, {a.value: _policy_value(v) for a, v in spec.policy.items()}
        ).to_json()
        session.add(client)
        session.flush()
        if spec.inbound:
            address = spec.inbound.lower()
            existing = session.get(InboundAddress, address)
            if existing and existing.client_id != spec.id:
                raise ValueError(
                    f"inbound address {address} belongs to client {existing.client_id}, "
                    f"cannot give it to {spec.id}"
                )
            session.merge(InboundAddress(address=address, client_id=spec.id))
        for user in spec.users:
            found = session.scalar(select(UserRow).where(UserRow.username == user.username))
            if found and found.client_id != spec.id:
                raise ValueError(f"user {user.username} belongs to client {found.client_id}")
            account = found or UserRow(username=user.username, client_id=spec.id)
            account.access = user.access.value
            account.email = user.email.lower() if user.email else None
            account.language = user.language
            _set_secrets(account, user.password, user.token)
            session.add(account)
            summary["users"] += 1
        for supplier_id in spec.suppliers:
            session.merge(ClientSupplier(client_id=spec.id, supplier_id=supplier_id))
            summary["links"] += 1
        summary["clients"] += 1
    summary["disabled"] = _disable_unlisted(session, data)
    return summary


def _banking(spec: ClientSpec, stored: dict[str, object] | None) -> Banking:
    """The file's `reconciliation`, `bank_accounts` and `posting_rules` overwrite what is
    stored; a section the file leaves out keeps it (posting rules set by staff with
    `fiduflow rules set` or over the API survive a reload of a file that has none)."""
    current = Banking.model_validate(stored or {})
    listed = spec.model_fields_set
    return Banking(
        reconciliation=spec.reconciliation
        if "reconciliation" in listed
        else current.reconciliation,
        bank_accounts=spec.bank_accounts if "bank_accounts" in listed else current.bank_accounts,
        posting_rules=spec.posting_rules if "posting_rules" in listed else current.posting_rules,
    )


def _policy_value(value: object) -> str | dict[str, str]:
    if isinstance(value, dict):
        return {str(getattr(k, "value", k)): str(getattr(v, "value", v)) for k, v in value.items()}
    return str(getattr(value, "value", value))


def _set_secrets(row: StaffUser | UserRow, password: str | None, token: str | None) -> None:
    """Store new secrets hashed; a changed password or token ends the user's sessions."""
    # Re-hash only when the secret changed: scrypt is slow on purpose, and a new salt on
    # every load would make "load twice" rewrite every row.
    changed = False
    if password and not password_matches(password, row.password_hash):
        changed = row.password_hash is not None
        row.password_hash = password_hash(password)
    if token and row.token_hash != token_hash(token):
        changed = changed or row.token_hash is not None
        row.token_hash = token_hash(token)
    if changed:
        row.auth_epoch = (row.auth_epoch or 0) + 1
    if row.disabled_by == LOADER:  # listed again: the loader's own disable is undone
        row.disabled_at = None
        row.disabled_by = None


def _disable_unlisted(session: Session, data: MasterData) -> int:
    """Users the file no longer lists are disabled, not deleted (their history stays);
    a user disabled by a person stays disabled whatever the file says."""
    listed = {s.username for s in data.staff} | {u.username for c in data.clients for u in c.users}
    rows: list[StaffUser | UserRow] = [
        *session.scalars(select(StaffUser).where(StaffUser.disabled_at.is_(None))),
        *session.scalars(select(UserRow).where(UserRow.disabled_at.is_(None))),
    ]
    disabled = 0
    for row in rows:
        if row.username not in listed:
            row.disabled_at = utcnow()
            row.disabled_by = LOADER
            row.auth_epoch = (row.auth_epoch or 0) + 1
            disabled += 1
    return disabled


def _set_address(row: ClientRow | SupplierRow, address: AddressSpec | None) -> None:
    row.street = address.street if address else None
    row.postcode = address.postcode if address else None
    row.city = address.city if address else None
    row.country = address.country if address else "CH"


def upsert_supplier(
    session: Session,
    spec: SupplierSpec,
    *,
    status: SupplierStatus = SupplierStatus.ACTIVE,
    proposed_by_client_id: str | None = None,
    proposed_from_document_id: int | None = None,
) -> SupplierRow:
    row = session.get(SupplierRow, spec.id) or SupplierRow(id=spec.id)
    row.name = spec.name
    row.name_normalized = normalize_company_name(spec.name)
    row.uid = spec.uid
    _set_address(row, spec.address)
    row.account = spec.account
    row.status = status.value
    row.proposed_by_client_id = proposed_by_client_id
    row.proposed_from_document_id = proposed_from_document_id
    session.add(row)
    session.flush()
    _replace_listed_ibans(session, row.id, spec.ibans)
    _replace(
        session,
        SupplierNameToken,
        row.id,
        [
            SupplierNameToken(token=t[:60], supplier_id=row.id)
            for t in dict.fromkeys(name_tokens(spec.name))
        ],
    )
    return row


def _replace_listed_ibans(session: Session, supplier_id: str, ibans: list[str]) -> None:
    """The master data's accounts replace the master data's; what a person confirmed on
    a bank-details task stays (DESIGN.md: a reload keeps what people did)."""
    session.execute(
        delete(SupplierIban).where(
            SupplierIban.supplier_id == supplier_id, SupplierIban.confirmed_by.is_(None)
        )
    )
    confirmed = set(
        session.scalars(select(SupplierIban.iban).where(SupplierIban.supplier_id == supplier_id))
    )
    session.add_all(
        SupplierIban(iban=i, supplier_id=supplier_id)
        for i in dict.fromkeys(ibans)
        if i not in confirmed
    )
    session.flush()


def _replace(session: Session, table: Any, supplier_id: str, rows: Iterable[object]) -> None:
    """`table`: a mapped class with a `supplier_id` column."""
    session.execute(delete(table).where(table.supplier_id == supplier_id))
    session.add_all(list(rows))
    session.flush()


# --- reading master data -------------------------------------------------------------


def address_of(row: ClientRow | SupplierRow) -> Address:
    return Address(
        name=row.name, street=row.street, postcode=row.postcode, city=row.city, country=row.country
    )


def client_from_row(row: ClientRow) -> Client:
    mode = ClientMode(row.mode)
    return Client(
        id=row.id,
        name=row.name,
        mode=mode,
        address=address_of(row),
        uid=row.uid,
        ibans=list(row.ibans or []),
        vat_method=VatMethod(row.vat_method),
        policy=DivisionOfLabour.from_overrides(mode, row.policy or {}),
        phase=Phase(row.phase or Phase.REGULAR),
        contact_email=row.contact_email,
        language=row.language,
        banking=Banking.model_validate(row.banking or {}),
    )


def get_client(session: Session, client_id: str) -> Client | None:
    row = session.get(ClientRow, client_id)
    return client_from_row(row) if row else None


def list_clients(session: Session) -> list[Client]:
    return [client_from_row(r) for r in session.scalars(select(ClientRow).order_by(ClientRow.id))]


def client_for_address(session: Session, address: str) -> str | None:
    row = session.get(InboundAddress, address.strip().lower())
    return row.client_id if row else None


def inbound_addresses(session: Session) -> dict[str, str]:
    """address -> client id, for the SMTP server's recipient check."""
    return {r.address: r.client_id for r in session.scalars(select(InboundAddress))}


def first_inbound_address(session: Session, client_id: str) -> str | None:
    """The client's inbound address (the first by name when it has several)."""
    return session.scalar(
        select(InboundAddress.address)
        .where(InboundAddress.client_id == client_id)
        .order_by(InboundAddress.address)
        .limit(1)
    )


def online_users_with_email(session: Session) -> list[tuple[UserRow, ClientRow]]:
    """Every enabled user of an online client who has an email, with the client, by
    client and username."""
    rows = session.execute(
        select(UserRow, ClientRow)
        .join(ClientRow, ClientRow.id == UserRow.client_id)
        .where(
            ClientRow.mode == ClientMode.ONLINE.value,
            UserRow.email.is_not(None),
            UserRow.disabled_at.is_(None),
        )
        .order_by(UserRow.client_id, UserRow.username)
    )
    return [(user, client) for user, client in rows]


def fiduciary(session: Session) -> Fiduciary | None:
    return session.get(Fiduciary, 1)


def user_for_token(session: Session, token: str) -> User | None:
    """The enabled user holding this API token, else None."""
    digest = token_hash(token)
    staff = session.scalar(select(StaffUser).where(StaffUser.token_hash == digest))
    if staff:
        return _staff_user(staff)
    row = session.scalar(select(UserRow).where(UserRow.token_hash == digest))
    return _client_user(session, row) if row else None


def user_for_password(session: Session, username: str, password: str) -> User | None:
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if staff and password_matches(password, staff.password_hash):
        return _staff_user(staff)
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    if row and password_matches(password, row.password_hash):
        return _client_user(session, row)
    if staff is None and row is None:
        # No such name: check against nothing all the same, so that the answer takes
        # as long as for a real name (else its speed tells which names exist).
        password_matches(password, None)
    return None


def user_by_username(session: Session, username: str) -> User | None:
    """The enabled user of that name (a web session names its user; a disabled or
    removed user's session dies with it)."""
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if staff:
        return _staff_user(staff)
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    return _client_user(session, row) if row else None


def _staff_user(row: StaffUser) -> User | None:
    if row.disabled_at is not None:
        return None
    return User(id=row.id, username=row.username, client_id=None, auth_epoch=row.auth_epoch)


def _client_user(session: Session, row: UserRow) -> User | None:
    if row.disabled_at is not None:
        return None
    client = session.get(ClientRow, row.client_id)
    return User(
        id=row.id,
        username=row.username,
        client_id=row.client_id,
        access=Access(row.access),
        email=row.email,
        payroll_visible=bool(client and client.payroll_visible),
        auth_epoch=row.auth_epoch,
    )


def set_policy(session: Session, client_id: str, policy: DivisionOfLabour) -> None:
    row = session.get(ClientRow, client_id)
    if row is None:
        raise KeyError(client_id)
    policy.check()
    row.policy = policy.to_json()


def supplier_from_row(row: SupplierRow, ibans: list[str]) -> Supplier:
    return Supplier(
        id=row.id,
        name=row.name,
        uid=row.uid,
        ibans=ibans,
        address=address_of(row),
        account=row.account,
        status=SupplierStatus(row.status),
    )
