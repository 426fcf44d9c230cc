"""The firm's directories as routing sees them: suppliers (by IBAN, UID and name words)
and the other clients an addressee might be.

Every lookup is an indexed query whose cost does not grow with the directory:

- IBAN and UID are exact index lookups.
- A name finds its candidates through the inverted index of name words
  (`supplier_name_tokens`), each word weighted by its rarity. A word shared by more than
  `POSTING_CAP` suppliers ("elektro", "treuhand", "zürich") is too common to find
  anyone by: at most `POSTING_CAP + 1` of its postings are read, to learn that — reading
  them all would cost more with every supplier added. A word on nobody's list, or on
  very few (a typo, an OCR slip), is also looked up as its one-edit variants: one query
  of index probes. Only when *every* word is common are two of them intersected (a merge
  of two index ranges, not a loop over suppliers). The candidates found are then ordered
  by similarity of the whole name and the best `limit` loaded.

Measured by `bench/matching.py`: the time per match is the same at 100 and 100,000
suppliers.

Tenant isolation: a supplier *proposed* from one client's document is visible to that
client only, until a fiduciary confirms it (`_VISIBLE_BY_ID`).

Learned aliases: a printed name a correction tied to a supplier (`supplier_aliases`,
kind `name`) finds that supplier by exact normalised name, for the client whose user
taught it, or for every client when staff did; the loaded `Supplier` carries the
aliases, so that routing can say the name matched one.
"""

import math
from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import fuzz
from sqlalchemy import String, any_, bindparam, cast, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from domain.enums import AliasKind, SupplierStatus
from domain.extraction import Recipient
from domain.identifiers import (
    name_tokens,
    normalize_company_name,
    normalize_iban,
    normalize_uid,
)
from domain.masterdata import AddressSpec, SupplierSpec
from domain.records import Client, Supplier
from storage.masterdata import client_from_row, supplier_from_row, upsert_supplier
from storage.tables import (
    Base,
    ClientRow,
    ClientSupplier,
    DocumentRow,
    SupplierAlias,
    SupplierIban,
    SupplierNameToken,
    SupplierRow,
    TaskRow,
)
from storage.tables import Counter as CounterRow

POSTING_CAP = 200  # a name word shared by more suppliers than this finds nobody by itself
MAX_TYPO_WORDS = 2  # unknown or rare words also looked up by their one-edit variants
MAX_VARIANT_HITS = 6  # existing variants of one word that are followed
RARE = 3  # a word this rare may itself be a slip for a neighbour ("Reingg" / "Reinggg")
SHORTLIST = 200  # candidates ranked by name similarity before the best `limit` are loaded
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _rarity(postings: int) -> float:
    """Weight of a name word shared by `postings` suppliers (1 .. POSTING_CAP)."""
    return math.log((POSTING_CAP + 1) / postings) + 0.1


def one_edit_variants(word: str) -> set[str]:
    """Every string one deletion, transposition, replacement or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    inserts = {a + c + b for a, b in splits for c in _ALPHABET}
    return (deletes | transposes | replaces | inserts) - {word}


def query_words(name: str) -> list[str]:
    """The index words of a printed name (as `upsert_supplier` indexes them)."""
    return list(dict.fromkeys(t[:60] for t in name_tokens(name) if len(t) > 1))


# Built once: the statements run for every document, with only their parameters changing
# (an expanding parameter is far cheaper than hundreds of literal values per call).
_POSTINGS = (
    select(SupplierNameToken.supplier_id)
    .where(SupplierNameToken.token == bindparam("word"))
    .limit(POSTING_CAP + 1)
)
_VARIANTS = (
    select(SupplierNameToken.token)
    .where(SupplierNameToken.token.in_(bindparam("variants", expanding=True)))
    .distinct()
    .order_by(SupplierNameToken.token)
    .limit(MAX_VARIANT_HITS * 4)
)
# A word's one-edit variants are several hundred: as an expanding IN that is a new SQL
# text of that many parameters for every word, which psycopg and PostgreSQL parse anew
# each time (~5 ms of CPU per document, bench/pipeline.py --postgres). One array
# parameter keeps the statement the same; SQLite has no arrays and keeps the IN.
_VARIANTS_ARRAY = (
    select(SupplierNameToken.token)
    .where(SupplierNameToken.token == any_(bindparam("variants", type_=ARRAY(String))))
    .distinct()
    .order_by(SupplierNameToken.token)
    .limit(MAX_VARIANT_HITS * 4)
)

# What a client may see: the firm's active suppliers and its own proposals.
_VISIBLE_BY_ID = select(SupplierRow).where(
    SupplierRow.id.in_(bindparam("ids", expanding=True)),
    or_(
        SupplierRow.status == SupplierStatus.ACTIVE.value,
        SupplierRow.proposed_by_client_id == bindparam("client"),
    ),
)
_EXACT_NAME = (
    select(SupplierRow.id)
    .where(SupplierRow.name_normalized == bindparam("name"))
    .limit(POSTING_CAP)
)
_NAMES_BY_ID = select(SupplierRow.id, SupplierRow.name_normalized).where(
    SupplierRow.id.in_(bindparam("ids", expanding=True))
)
_IBANS_BY_ID = select(SupplierIban.supplier_id, SupplierIban.iban).where(
    SupplierIban.supplier_id.in_(bindparam("ids", expanding=True))
)
# Name aliases the client may use: its own, and the firm's (taught by staff).
_ALIAS_VISIBLE = or_(
    SupplierAlias.client_id == bindparam("client"), SupplierAlias.client_id.is_(None)
)
_BY_ALIAS = (
    select(SupplierAlias.supplier_id)
    .where(
        SupplierAlias.kind == AliasKind.NAME.value,
        SupplierAlias.normalized == bindparam("name"),
        _ALIAS_VISIBLE,
    )
    .order_by(SupplierAlias.supplier_id)
    .limit(POSTING_CAP)
)
_ALIASES_BY_ID = select(SupplierAlias.supplier_id, SupplierAlias.normalized).where(
    SupplierAlias.supplier_id.in_(bindparam("ids", expanding=True)),
    SupplierAlias.kind == AliasKind.NAME.value,
    _ALIAS_VISIBLE,
)


class SqlSupplierDirectory:
    """`routing.suppliers.SupplierDirectory` for one client."""

    def __init__(self, session: Session, client_id: str):
        self.session = session
        self.client_id = client_id
        self._own: set[str] | None = None

    def _load(self, ids: list[str]) -> list[Supplier]:
        if not ids:
            return []
        rows = self.session.scalars(_VISIBLE_BY_ID, {"ids": ids, "client": self.client_id})
        ibans: dict[str, list[str]] = {}
        for supplier_id, iban in self.session.execute(_IBANS_BY_ID, {"ids": ids}):
            ibans.setdefault(supplier_id, []).append(iban)
        aliases: dict[str, list[str]] = {}
        params = {"ids": ids, "client": self.client_id}
        for supplier_id, alias in self.session.execute(_ALIASES_BY_ID, params):
            aliases.setdefault(supplier_id, []).append(alias)
        by_id = {
            r.id: supplier_from_row(r, ibans.get(r.id, [])).model_copy(
                update={"aliases": sorted(aliases.get(r.id, []))}
            )
            for r in rows
        }
        return [by_id[i] for i in ids if i in by_id]

    def by_iban(self, iban: str) -> list[Supplier]:
        ids = self.session.scalars(
            select(SupplierIban.supplier_id).where(SupplierIban.iban == normalize_iban(iban))
        )
        return self._load(sorted(ids))

    def by_uid(self, uid: str) -> list[Supplier]:
        ids = self.session.scalars(select(SupplierRow.id).where(SupplierRow.uid == uid))
        return self._load(sorted(ids))

    # --- names ---------------------------------------------------------------------------

    def _postings(self, word: str) -> list[str] | None:
        """Suppliers with this name word, or None when more than `POSTING_CAP` have it."""
        ids = list(self.session.scalars(_POSTINGS, {"word": word}))
        return None if len(ids) > POSTING_CAP else ids

    def _existing_variants(self, word: str) -> list[str]:
        variants = sorted(one_edit_variants(word))
        postgres = self.session.get_bind().dialect.name == "postgresql"
        found = self.session.scalars(
            _VARIANTS_ARRAY if postgres else _VARIANTS, {"variants": variants}
        )
        # Closest in length first: a dropped letter is likelier than a spurious one.
        return sorted(found, key=lambda v: (abs(len(v) - len(word)), v))[:MAX_VARIANT_HITS]

    def _intersection(self, first: str, second: str) -> list[str]:
        other = aliased(SupplierNameToken)
        statement = (
            select(SupplierNameToken.supplier_id)
            .join(
                other,
                (other.supplier_id == SupplierNameToken.supplier_id) & (other.token == second),
            )
            .where(SupplierNameToken.token == first)
            .limit(POSTING_CAP)
        )
        return list(self.session.scalars(statement))

    def name_candidate_ids(self, name: str, limit: int = 25) -> list[str]:
        """Ids of suppliers sharing the rarest words with `name`, best first.

        A shared word counts by its rarity (log of how many fewer suppliers have it than
        the cap), so "Tanisster" outweighs "Transporte" and the cut to `limit` keeps the
        supplier the rare word points at.
        """
        words = query_words(name)
        votes: dict[str, float] = defaultdict(float)

        def vote(ids: list[str], weight: float) -> None:
            for supplier_id in ids:
                votes[supplier_id] += weight

        normalized = normalize_company_name(name)
        if normalized:
            vote(list(self.session.scalars(_EXACT_NAME, {"name": normalized[:200]})), 20.0)
        common: list[str] = []
        slips: list[tuple[int, str]] = []
        for word in words:
            ids = self._postings(word)
            if ids is None:
                common.append(word)
                continue
            vote(ids, _rarity(len(ids)) if ids else 0.0)
            if len(ids) <= RARE and len(word) >= 4:
                slips.append((len(ids), word))
        for _, word in sorted(slips)[:MAX_TYPO_WORDS]:
            for variant in self._existing_variants(word):
                ids = self._postings(variant) or []
                vote(ids, _rarity(len(ids)) if ids else 0.0)
        if not votes and len(common) >= 2:
            vote(self._intersection(common[0], common[1]), 1.0)
        ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
        return self._closest([supplier_id for supplier_id, _ in ranked[:SHORTLIST]], name, limit)

    def _closest(self, ids: list[str], name: str, limit: int) -> list[str]:
        """The `limit` names most like `name` among `ids` (one query for their names):
        votes find candidates, the whole name (common words too) orders them."""
        if len(ids) <= limit:
            return ids
        wanted = normalize_company_name(name)
        rows = self.session.execute(_NAMES_BY_ID, {"ids": ids})
        similarity = {row.id: fuzz.token_sort_ratio(wanted, row.name_normalized) for row in rows}
        return sorted(ids, key=lambda i: (-similarity.get(i, 0.0), i))[:limit]

    def alias_ids(self, name: str) -> list[str]:
        """Suppliers a correction taught this printed name for (exact normalised match)."""
        normalized = normalize_company_name(name)[:200]
        if not normalized:
            return []
        return list(self.session.scalars(_BY_ALIAS, {"name": normalized, "client": self.client_id}))

    def by_name(self, name: str, limit: int = 25) -> list[Supplier]:
        learned = self.alias_ids(name)
        found = [i for i in self.name_candidate_ids(name, limit) if i not in learned]
        return self._load([*learned, *found][:limit])

    def client_supplier_ids(self) -> set[str]:
        if self._own is None:
            self._own = set(
                self.session.scalars(
                    select(ClientSupplier.supplier_id).where(
                        ClientSupplier.client_id == self.client_id
                    )
                )
            )
        return self._own

    def get(self, supplier_id: str) -> Supplier | None:
        found = self._load([supplier_id])
        return found[0] if found else None


# --- proposals -----------------------------------------------------------------------------


def propose_supplier(
    session: Session, proposal: Supplier, client_id: str, document_id: int
) -> SupplierRow:
    """Create the proposed supplier at most once (its id is derived from the document)."""
    existing = session.get(SupplierRow, proposal.id)
    if existing is not None:
        return existing  # made by an earlier run, maybe confirmed since: never reset it
    address = None
    if proposal.address is not None:
        fields = proposal.address.model_dump(include={"street", "postcode", "city", "country"})
        address = AddressSpec(**{k: v for k, v in fields.items() if v})
    spec = SupplierSpec(
        id=proposal.id,
        name=proposal.name,
        uid=proposal.uid,
        iban=proposal.ibans,
        address=address,
        account=proposal.account,
    )
    return upsert_supplier(
        session,
        spec,
        status=SupplierStatus.PROPOSED,
        proposed_by_client_id=client_id,
        proposed_from_document_id=document_id,
    )


def confirm_supplier(session: Session, supplier_id: str, client_id: str) -> SupplierRow | None:
    """A fiduciary confirmed a proposal: it gets a directory id of its own (`SUP-0001`,
    not the `new-<document>` it was proposed under) and every reference moves with it,
    every client may now match it, and it becomes one of the proposing client's
    suppliers. Returns the supplier's row (under its new id), None when there is none."""
    row = session.get(SupplierRow, supplier_id)
    if row is None:
        return None
    if row.status == SupplierStatus.PROPOSED.value:
        row = _move_to(session, row, next_directory_id(session))
    row.status = SupplierStatus.ACTIVE.value
    if session.get(ClientSupplier, (client_id, row.id)) is None:
        session.add(ClientSupplier(client_id=client_id, supplier_id=row.id))
    session.flush()
    return row


DIRECTORY_ID_COUNTER = "supplier_directory_id"


def next_directory_id(session: Session) -> str:
    """The next free `SUP-<n>` for a confirmed supplier (a counter row, locked until the
    transaction ends, so two confirmations never take the same number).

    Not the master data's next `S<n>`: those ids are the fiduciary's to hand out in its
    file, and a reload upserts suppliers by id, so a confirmed supplier given the file's
    next number would be overwritten by the next supplier the file adds. A `SUP-<n>` the
    file happens to use already is skipped.
    """
    statement = select(CounterRow).where(CounterRow.name == DIRECTORY_ID_COUNTER).with_for_update()
    counter = session.scalar(statement)
    if counter is None:
        try:
            with session.begin_nested():
                session.add(CounterRow(name=DIRECTORY_ID_COUNTER, value=0))
        except IntegrityError:
            pass  # made by a concurrent confirmation a moment ago
        counter = session.scalar(statement)
    assert counter is not None
    while True:
        counter.value += 1
        candidate = f"SUP-{counter.value:04d}"
        if session.get(SupplierRow, candidate) is None:
            session.flush()
            return candidate


def _move_to(session: Session, old: SupplierRow, new_id: str) -> SupplierRow:
    """The supplier under `new_id`, with every reference to it moved, in the caller's
    transaction: insert the new row, repoint the references, delete the old row (renaming
    a primary key that foreign keys point at is not portable between SQLite and
    PostgreSQL; this is).

    References are found from the schema, not listed by hand: every column with a
    foreign key to `suppliers.id`, and every column named `supplier_id` (the routing
    facts keep one without a key), so a table added later moves along too. JSON that
    names the supplier moves as well: tasks' `details` and documents' `supplier_match`.
    """
    old_id = old.id
    new = SupplierRow(
        **{
            column.key: getattr(old, column.key)
            for column in SupplierRow.__table__.columns
            if column.key != "id"
        },
        id=new_id,
    )
    session.add(new)
    session.flush()
    for table in Base.metadata.sorted_tables:
        if table is SupplierRow.__table__:
            continue
        for column in table.columns:
            points_here = any(fk.column is SupplierRow.__table__.c.id for fk in column.foreign_keys)
            if points_here or column.name == "supplier_id":
                session.execute(update(table).where(column == old_id).values({column.name: new_id}))
    named = f'%"{old_id}"%'  # a cheap first cut; each hit is checked exactly below
    for task in session.scalars(select(TaskRow).where(cast(TaskRow.details, String).like(named))):
        details = dict(task.details or {})
        if old_id in details.values():
            task.details = {k: new_id if v == old_id else v for k, v in details.items()}
    for document in session.scalars(
        select(DocumentRow).where(cast(DocumentRow.supplier_match, String).like(named))
    ):
        match = dict(document.supplier_match or {})
        if match.get("supplier_id") == old_id:
            document.supplier_match = {**match, "supplier_id": new_id}
    session.flush()
    session.delete(old)
    session.flush()
    # The updates above went past the session: what it holds of the moved rows (a task's
    # booking, a document) is read again on next use.
    session.expire_all()
    return session.get(SupplierRow, new_id)  # type: ignore[return-value]


# --- bulk loading (benchmarks, imports) ------------------------------------------------------


def bulk_insert_suppliers(session: Session, specs: Iterable[SupplierSpec]) -> int:
    """Insert many *new* suppliers at once, indexed exactly as `upsert_supplier` indexes
    them (same normalised name, same name words), at a fraction of the statements."""
    suppliers: list[dict] = []
    ibans: list[dict] = []
    tokens: list[dict] = []
    for spec in specs:
        suppliers.append(
            {
                "id": spec.id,
                "name": spec.name,
                "name_normalized": normalize_company_name(spec.name),
                "uid": spec.uid,
                "street": spec.address.street if spec.address else None,
                "postcode": spec.address.postcode if spec.address else None,
                "city": spec.address.city if spec.address else None,
                "country": spec.address.country if spec.address else "CH",
                "account": spec.account,
                "status": SupplierStatus.ACTIVE.value,
            }
        )
        ibans.extend({"iban": i, "supplier_id": spec.id} for i in dict.fromkeys(spec.ibans))
        tokens.extend(
            {"token": t[:60], "supplier_id": spec.id} for t in dict.fromkeys(name_tokens(spec.name))
        )
    for table, rows in (
        (SupplierRow, suppliers),
        (SupplierIban, ibans),
        (SupplierNameToken, tokens),
    ):
        for start in range(0, len(rows), 5000):
            session.execute(insert(table), rows[start : start + 5000])
    session.flush()
    return len(suppliers)


def _uid(value: str | None) -> str | None:
    try:
        return normalize_uid(value) if value else None
    except ValueError:
        return None


# --- other clients (invoice control) ---------------------------------------------------------


class SqlClientDirectory:
    """`routing.recipient.ClientDirectory`: the firm's other clients an addressee might be.

    Asked only when an addressee is *not* this client. Clients are few (a firm's
    clients, not a country's companies); the query still only reads the rows whose UID,
    postcode or a name word agree with the addressee.
    """

    def __init__(self, session: Session, client_id: str):
        self.session = session
        self.client_id = client_id

    def others_like(self, recipient: Recipient) -> list[Client]:
        conditions = []
        uid = _uid(recipient.uid)
        if uid:
            conditions.append(ClientRow.uid == uid)
        if recipient.address and recipient.address.postcode:
            conditions.append(ClientRow.postcode == recipient.address.postcode)
        name = recipient.name or (recipient.address.name if recipient.address else None) or ""
        for word in dict.fromkeys(name.replace(",", " ").split()):
            word = word.strip(".,;:()«»\"'")
            # Words that identify (not "AG", not "und"); the name column keeps its accents.
            if len(word) >= 4 and name_tokens(word):
                conditions.append(ClientRow.name.ilike(f"%{word}%"))
        if not conditions:
            return []
        rows = self.session.scalars(
            select(ClientRow)
            .where(or_(*conditions[:8]), ClientRow.id != self.client_id)
            .order_by(ClientRow.id)
            .limit(50)
        )
        return [client_from_row(row) for row in rows]
