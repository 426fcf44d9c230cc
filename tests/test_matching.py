"""Supplier matching: the rules (pure) and the indexed directory (SQLite and PostgreSQL)."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.enums import MatchRule, SupplierStatus, TextSource
from domain.extraction import Address, Extraction
from domain.masterdata import SupplierSpec
from domain.records import Supplier
from routing.names import legal_form_class, name_key, name_score
from routing.suppliers import is_qr_iban, match_supplier
from storage.masterdata import upsert_supplier
from storage.suppliers import (
    POSTING_CAP,
    SqlSupplierDirectory,
    bulk_insert_suppliers,
    confirm_supplier,
    one_edit_variants,
    propose_supplier,
)
from storage.tables import ClientSupplier, SupplierNameToken
from tests.factories import GLOOR
from tests.routing_fakes import FakeSuppliers, confident

D = Decimal


def sup(sid: str, name: str, **kw) -> Supplier:
    return Supplier(id=sid, name=name, **kw)


def read(name: str | None = None, **kw) -> Extraction:
    return Extraction(supplier_name=name, confidence=confident(), **kw)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Gloor Elektro AG", "GLOOR ELEKTRO SA."),
        ("Müller & Söhne GmbH", "Mueller und Soehne Sàrl"),
        ("Rossi Costruzioni S.r.l.", "rossi costruzioni sagl"),
        ("Brunner Kollektivgesellschaft", "Brunner"),
    ],
)
def test_legal_forms_punctuation_and_case_do_not_matter(a: str, b: str):
    assert name_key(a).normalized.replace("ue", "u").replace("oe", "o") == name_key(
        b
    ).normalized.replace("ue", "u").replace("oe", "o")


def test_legal_form_classes():
    assert legal_form_class("Gloor Elektro AG") == legal_form_class("Gloor Électricité SA") == "ag"
    assert legal_form_class("Meier Sàrl") == legal_form_class("Meier GmbH") == "gmbh"
    assert legal_form_class("S. Meier Holz") is None


def test_near_twins_are_told_apart_by_order_and_legal_form():
    twin_a, twin_b = name_key("Gloor Elektro AG"), name_key("Elektro Gloor GmbH")
    assert name_score(name_key("Gloor Elektro AG"), twin_a) == 100
    assert name_score(name_key("Gloor Elektro AG"), twin_b) < 90
    assert name_score(name_key("Elektro Gloor GmbH"), twin_b) == 100


def test_a_different_postcode_speaks_against_a_name():
    q = name_key("Elektro Zürich AG")
    here = Address(postcode="8001")
    assert name_score(q, q, here, Address(postcode="8001")) == 103  # ranks above its twin
    assert name_score(q, q, here, Address(postcode="8400")) < 90


@pytest.mark.parametrize(
    ("printed", "on_record", "accepted"),
    [
        ("Weinhandlung Wil AG", "Wiolzi Weinhandlung AG", False),  # a long shared word only
        ("Chelberger Sanitär AG", "Knelberger Sanitär AG", False),  # two letters apart
        ("Kälin Transporte AG", "Knlin Transporte AG", False),  # one letter of five
        ("Tanister Transporte AG", "Tanisster Transporte AG", True),  # a dropped letter
        ("Komann Hote1 GmbH", "Komann Hotel GmbH", True),  # a digit read for a letter
        ("Gloor Elektro AG Winterthur", "Gloor Elektro AG", True),  # the town on the letterhead
    ],
)
def test_how_alike_is_alike_enough(printed, on_record, accepted):
    record = sup("A", on_record, address=Address(city="Winterthur"))
    result = match_supplier(read(printed), FakeSuppliers([record]))
    assert (result.match.supplier_id == "A") is accepted, result.match


def test_another_iban_and_a_merely_similar_name_is_not_enough():
    record = sup("A", "Hotel Ulingter", ibans=["CH9300762011623852957"])
    doc = read("Hotel Ulingser", supplier_iban="CH5800791123000889012")
    assert match_supplier(doc, FakeSuppliers([record])).match.supplier_id is None
    exact = read("Hotel Ulingter", supplier_iban="CH5800791123000889012")  # a new account
    assert match_supplier(exact, FakeSuppliers([record])).match.supplier_id == "A"


# --- rules -----------------------------------------------------------------------------------


def test_iban_first_then_uid_then_name():
    directory = FakeSuppliers([GLOOR])
    by_iban = match_supplier(
        read("Whatever", supplier_iban="CH93 0076 2011 6238 5295 7"), directory
    )
    assert (by_iban.match.rule, by_iban.match.score) == (MatchRule.IBAN, 100.0)
    by_uid = match_supplier(read("Whatever", supplier_uid="CHE-109.322.551 MWST"), directory)
    assert by_uid.match.rule is MatchRule.UID
    by_name = match_supplier(read("GLOOR ELEKTRO SA"), directory)
    assert by_name.match.rule is MatchRule.NAME_DIRECTORY
    assert by_name.match.score >= 88 and "Gloor Elektro AG" in by_name.match.detail


def test_qr_iban_and_e_invoice_rules():
    qr = "CH4431999123000889012"
    assert is_qr_iban(qr) and not is_qr_iban("CH9300762011623852957")
    directory = FakeSuppliers([sup("S7", "QR Lieferant AG", ibans=[qr])])
    assert match_supplier(read(supplier_iban=qr), directory).match.rule is MatchRule.QR_IBAN
    xml = read(supplier_iban=qr, text_source=TextSource.XML)
    assert match_supplier(xml, directory).match.rule is MatchRule.XML


def test_the_clients_own_supplier_wins_among_near_twins():
    a = sup("A", "Elektro Meier AG")
    b = sup("B", "Elektro Meier AG", address=Address(postcode="3000"))
    directory = FakeSuppliers([a, b], own={"B"})
    result = match_supplier(read("Elektro Meier AG"), directory)
    assert (result.match.supplier_id, result.match.rule) == ("B", MatchRule.NAME)


def test_two_equal_names_and_nothing_else_is_not_guessed():
    directory = FakeSuppliers([sup("A", "Elektro Meier AG"), sup("B", "Elektro Meier AG")])
    result = match_supplier(read("Elektro Meier AG"), directory)
    assert result.match.rule is MatchRule.NONE and result.supplier is None
    assert "not guessed" in result.match.detail


def test_the_address_on_the_document_separates_equal_names():
    a = sup("A", "Elektro Meier AG", address=Address(postcode="8001"))
    b = sup("B", "Elektro Meier AG", address=Address(postcode="3000"))
    doc = read("Elektro Meier AG", supplier_address=Address(postcode="3000"))
    assert match_supplier(doc, FakeSuppliers([a, b])).match.supplier_id == "B"


def test_a_different_uid_on_record_excludes_a_name_match():
    a = sup("A", "Elektro Meier AG", uid="CHE-109.322.551")
    doc = read("Elektro Meier AG", supplier_uid="CHE-116.281.710")
    assert match_supplier(doc, FakeSuppliers([a])).match.supplier_id is None


def test_shared_iban_is_settled_by_the_name():
    shared = ["CH9300762011623852957"]
    directory = FakeSuppliers(
        [sup("A", "Holzbau Keller AG", ibans=shared), sup("B", "Keller Treuhand AG", ibans=shared)]
    )
    result = match_supplier(read("Keller Treuhand AG", supplier_iban=shared[0]), directory)
    assert (result.match.supplier_id, result.match.rule) == ("B", MatchRule.IBAN)
    assert "the name decided" in result.match.detail


def test_a_confident_new_supplier_is_proposed_an_unsure_one_is_not():
    directory = FakeSuppliers([GLOOR])
    new = read(
        "Huber Sanitär GmbH",
        supplier_iban="CH5800791123000889012",
        supplier_address=Address(postcode="6003", city="Luzern"),
    )
    result = match_supplier(new, directory, proposal_id="new-9")
    assert result.match.rule is MatchRule.PROPOSED
    assert result.proposal is not None
    assert (result.proposal.id, result.proposal.status) == ("new-9", SupplierStatus.PROPOSED)
    assert result.proposal.ibans == ["CH5800791123000889012"]
    # Low confidence in the name, an invalid IBAN, or a name close to a known supplier:
    # no proposal.
    shaky = new.model_copy(update={"confidence": confident(supplier_name=0.5)})
    assert match_supplier(shaky, directory, proposal_id="new-9").proposal is None
    bad_iban = new.model_copy(update={"supplier_iban": "CH5800791123000889013"})
    assert match_supplier(bad_iban, directory, proposal_id="new-9").proposal is None
    # Two known suppliers it could be: unsure, so neither matched nor proposed.
    twins = FakeSuppliers([sup("A", "Huber Sanitär GmbH"), sup("B", "Huber Sanitär GmbH")])
    unsure = match_supplier(
        new.model_copy(update={"supplier_address": None}), twins, proposal_id="new-9"
    )
    assert unsure.proposal is None and unsure.match.rule is MatchRule.NONE
    # A name unlike anything on record is new, even if it shares a word.
    other = new.model_copy(update={"supplier_name": "Glaar Elektro AG", "supplier_address": None})
    assert match_supplier(other, directory, proposal_id="new-9").match.rule is MatchRule.PROPOSED


# --- the directory in the database -----------------------------------------------------------


def spec(sid: str, name: str, **kw) -> SupplierSpec:
    return SupplierSpec(id=sid, name=name, **kw)


@pytest.fixture
def directory_db(db, load_firm):
    load_firm()
    with db.session() as s:
        for i, name in enumerate(
            [
                "Elektro Gloor GmbH",
                "Gloor Holzbau AG",
                "Brunner Sanitär AG",
                "Sanitär Brunner & Co",
                "Treuhand Zürich AG",
                "Elektro Zürich AG",
            ]
        ):
            upsert_supplier(s, spec(f"T{i}", name, address={"postcode": "8001"}))
        # Many suppliers share "elektro": it must not be read to find candidates.
        bulk_insert_suppliers(
            s, [spec(f"E{i:04d}", f"Elektro Firma{i:04d} AG") for i in range(POSTING_CAP + 5)]
        )
    return db


def test_name_candidates_come_from_rare_words(directory_db):
    with directory_db.session() as s:
        d = SqlSupplierDirectory(s, "C01")
        ids = [c.id for c in d.by_name("Gloor Elektro AG")]
        assert {"S001", "T0", "T1"} <= set(ids)
        assert not any(i.startswith("E") for i in ids)  # "elektro" alone finds nobody


def test_a_typo_is_found_through_one_edit_variants(directory_db):
    assert "gloor" in one_edit_variants("glor")
    with directory_db.session() as s:
        d = SqlSupplierDirectory(s, "C01")
        assert "S001" in [c.id for c in d.by_name("Glor Elektro AG")]
        assert "T2" in [c.id for c in d.by_name("Brunnner Sanitär AG")]


def test_only_common_words_intersect_their_postings(directory_db):
    with directory_db.session() as s:
        # "zurich" as common as "elektro", on other suppliers.
        bulk_insert_suppliers(
            s, [spec(f"Z{i:04d}", f"Zürich Bau{i:04d} AG") for i in range(POSTING_CAP + 5)]
        )
        d = SqlSupplierDirectory(s, "C01")
        assert [c.id for c in d.by_name("Zürich Elektro")] == ["T5"]


def test_match_against_the_database(directory_db):
    with directory_db.session() as s:
        d = SqlSupplierDirectory(s, "C01")
        result = match_supplier(read("GLOOR ELEKTRO SA"), d)
        assert (result.match.supplier_id, result.match.rule) == ("S001", MatchRule.NAME)
        twin = match_supplier(read("Elektro Gloor GmbH"), d)
        assert (twin.match.supplier_id, twin.match.rule) == ("T0", MatchRule.NAME_DIRECTORY)
        by_iban = match_supplier(read(supplier_iban="CH93 0076 2011 6238 5295 7"), d)
        assert by_iban.match.supplier_id == "S001"


def test_bulk_insert_indexes_like_upsert(db, load_firm):
    load_firm()
    with db.session() as s:
        upsert_supplier(s, spec("U1", "Müller & Söhne Elektro AG", iban="CH5800791123000889012"))
        bulk_insert_suppliers(
            s, [spec("B1", "Müller & Söhne Elektro AG", iban="CH5604835012345678009")]
        )
        tokens = {
            sid: sorted(
                s.scalars(
                    select(SupplierNameToken.token).where(SupplierNameToken.supplier_id == sid)
                )
            )
            for sid in ("U1", "B1")
        }
        assert tokens["U1"] == tokens["B1"]
        d = SqlSupplierDirectory(s, "C01")
        assert [x.id for x in d.by_iban("CH56 0483 5012 3456 7800 9")] == ["B1"]


def test_proposal_is_made_once_and_confirmed_into_the_clients_list(db, load_firm):
    load_firm()
    proposal = Supplier(
        id="new-77",
        name="Huber Sanitär GmbH",
        ibans=["CH5800791123000889012"],
        address=Address(postcode="6003", city="Luzern"),
        status=SupplierStatus.PROPOSED,
    )
    with db.session() as s:
        propose_supplier(s, proposal, "C01", 77)
        propose_supplier(s, proposal.model_copy(update={"name": "Changed"}), "C01", 77)
    with db.session() as s:
        own = SqlSupplierDirectory(s, "C01")
        other = SqlSupplierDirectory(s, "C02")
        assert [x.name for x in own.by_iban("CH5800791123000889012")] == ["Huber Sanitär GmbH"]
        assert other.by_iban("CH5800791123000889012") == []
        assert other.by_name("Huber Sanitär GmbH") == []
        confirmed = confirm_supplier(s, "new-77", "C01")
        assert confirmed.id == "SUP-0001"  # a directory id of its own
    with db.session() as s:
        assert SqlSupplierDirectory(s, "C02").get("SUP-0001").status is SupplierStatus.ACTIVE
        assert SqlSupplierDirectory(s, "C01").get("new-77") is None
        links = s.scalar(
            select(func.count())
            .select_from(ClientSupplier)
            .where(ClientSupplier.supplier_id == "SUP-0001")
        )
        assert links == 1
