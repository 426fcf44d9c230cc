"""Corrections teach (DESIGN.md, "Working a task"): per client and supplier the account,
VAT code, payment method and "private"; a corrected supplier its printed name (and, by
staff only, its IBAN); a corrected field where the supplier's layout prints it.

Pure routing tests for the precedence and the reasons; storage tests on SQLite and
PostgreSQL (the steps' functions called without Prefect); the supplier API over HTTP.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from domain.corrections import Corrections
from domain.enums import AliasKind, LearnedField, LearnedHow, PaymentMethod, ReviewReason
from domain.learned import Learned, LearnedValue
from domain.records import User
from routing.accounts import propose_booking
from routing.decide import decide
from routing.rebook import is_credit, rebuild_booking
from storage.learning import (
    CLIENT_USER,
    find_printed,
    learn_from_correction,
    learned_for,
    printed_forms,
)
from storage.scope import Scope
from storage.suppliers import SqlSupplierDirectory
from storage.tables import (
    BookingRow,
    DocumentRow,
    FieldPosition,
    ReadingCache,
    SupplierAlias,
    SupplierIban,
    SupplierRow,
    TaskRow,
)
from storage.tasks import complete_task, reject_task
from tests.factories import GLOOR, OFFLINE, ONLINE, SUPPLIER_GLOOR
from tests.routing_fakes import (
    KRONE,
    Firm,
    context,
    invoice,
    lines_of,
    receipt,
    record,
    route_recorded,
    tasks_of,
)

D = Decimal
ANNA = User(id=1, username="anna", client_id=None)
HANS = User(id=2, username="hans", client_id="C01", access="company")
WHEN = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
BY_ANNA = "learned from correction by anna on 2026-12-04"


def learned(supplier_id: str = "S001", **values: str) -> Learned:
    return Learned(
        client_id="C02",
        supplier_id=supplier_id,
        values={
            LearnedField(k): LearnedValue(
                field=LearnedField(k), value=v, learned_by="anna", learned_at=WHEN
            )
            for k, v in values.items()
        },
    )


# --- routing: precedence and reasons (pure) ------------------------------------------------


def test_learned_account_wins_over_the_suppliers_default_and_the_reason_names_it():
    firm = Firm()
    ctx = context(OFFLINE, invoice(OFFLINE))
    matching = firm.match(OFFLINE, ctx)
    plain = decide(ctx, OFFLINE, matching)
    assert lines_of(plain.booking)[0][0] == "6100"  # Gloor's master-data default
    taught = decide(ctx, OFFLINE, matching, learned=learned(account="6570"))
    assert taught.post and taught.rule == "auto_post"
    assert lines_of(taught.booking) == [
        ("6570", "1000.00", "", "VI81"),
        ("1171", "81.00", "", "VI81"),
        ("2000", "", "1081.00", None),
    ]
    assert f"account 6570: {BY_ANNA}" in taught.reasons


def test_what_was_learned_for_another_supplier_is_ignored():
    ctx = context(OFFLINE, invoice(OFFLINE))
    proposal = propose_booking(
        ctx.extraction.doc_type, ctx, OFFLINE, GLOOR, learned=learned("S999", account="6570")
    )
    assert proposal.account is not None and proposal.account.account == "6100"


def test_a_learned_account_is_certain_where_the_chart_could_only_guess():
    nameless = GLOOR.model_copy(update={"account": None})
    firm = Firm(suppliers=[nameless, KRONE])
    ctx = context(OFFLINE, invoice(OFFLINE, text="Rechnung RE-2026-17\nDiverses\nTotal"))
    matching = firm.match(OFFLINE, ctx)
    unsure = decide(ctx, OFFLINE, matching)
    assert ReviewReason.ACCOUNT_UNCLEAR in unsure.issues and not unsure.post
    assert tasks_of(unsure) == [("review_document", "fiduciary", True)]
    sure = decide(ctx, OFFLINE, matching, learned=learned(account="6500"))
    assert sure.post and sure.tasks == [] and sure.issues == []


def test_a_learned_payment_method_answers_the_question():
    firm = Firm()
    ctx = context(OFFLINE, receipt(OFFLINE, text="Restaurant Krone\nTotal CHF 54.00"))
    matching = firm.match(OFFLINE, ctx)
    asked = decide(ctx, OFFLINE, matching)
    assert ReviewReason.PAYMENT_METHOD_UNKNOWN in asked.issues
    taught = decide(ctx, OFFLINE, matching, learned=learned("S002", payment_method="company_card"))
    assert ReviewReason.PAYMENT_METHOD_UNKNOWN not in taught.issues
    assert lines_of(taught.booking)[-1] == ("2100", "", "54.00", None)
    assert f"paid: company_card: {BY_ANNA}" in taught.reasons
    # What the submitter said in the app still comes first.
    app = context(OFFLINE, ctx.extraction, payment_method=PaymentMethod.CASH)
    said = decide(
        app,
        OFFLINE,
        firm.match(OFFLINE, app),
        learned=learned("S002", payment_method="company_card"),
    )
    assert lines_of(said.booking)[-1] == ("1000", "", "54.00", None)


def test_a_learned_vat_code_replaces_the_computed_one_on_a_single_rate():
    ctx = context(OFFLINE, invoice(OFFLINE))
    proposal = propose_booking(
        ctx.extraction.doc_type, ctx, OFFLINE, GLOOR, learned=learned(vat_code="VI81X")
    )
    assert proposal.booking is not None
    assert [line.vat_code for line in proposal.booking.lines] == ["VI81X", "VI81X", None]
    assert f"VAT code VI81X: {BY_ANNA}" in proposal.notes


def test_a_supplier_learned_as_private_goes_before_a_person():
    firm = Firm()
    ctx = context(OFFLINE, invoice(OFFLINE))
    decision = decide(ctx, OFFLINE, firm.match(OFFLINE, ctx), learned=learned(private="true"))
    assert not decision.post
    assert tasks_of(decision) == [("review_document", "fiduciary", True)]
    assert any(r.startswith(f"private: {BY_ANNA}") for r in decision.reasons)


def test_a_learned_name_alias_finds_the_supplier_and_says_so():
    aliased = GLOOR.model_copy(update={"aliases": ["elektro service winterthur"]})
    firm = Firm(suppliers=[aliased, KRONE])
    printed = invoice(
        OFFLINE, supplier_name="Elektro-Service Winterthur", supplier_iban=None, supplier_uid=None
    )
    matching = firm.match(OFFLINE, context(OFFLINE, printed))
    assert matching.supplier.match.supplier_id == "S001"
    assert matching.supplier.match.detail == (
        "name 'Elektro-Service Winterthur' is an alias of Gloor Elektro AG learned from a "
        "correction"
    )
    unknown = Firm().match(OFFLINE, context(OFFLINE, printed))
    assert unknown.supplier.match.supplier_id is None


def test_the_place_of_a_corrected_value_is_found_among_the_words():
    page = {
        "number": 1,
        "width": 600.0,
        "height": 800.0,
        "words": [
            {"text": "Total", "x0": 60, "top": 400, "x1": 100, "bottom": 410},
            {"text": "CHF", "x0": 400, "top": 400, "x1": 430, "bottom": 410},
            {"text": "1'081.00", "x0": 440, "top": 400, "x1": 500, "bottom": 410},
            {"text": "RF18", "x0": 60, "top": 600, "x1": 90, "bottom": 610},
            {"text": "5390", "x0": 95, "top": 600, "x1": 125, "bottom": 610},
        ],
    }
    assert find_printed([page], printed_forms(D("1081.00"))) == (
        1,
        (440 / 600, 400 / 800, 500 / 600, 410 / 800),
    )
    assert find_printed([page], printed_forms("RF185390")) == (
        1,
        (60 / 600, 600 / 800, 125 / 600, 610 / 800),
    )
    assert find_printed([page], printed_forms(date(2026, 3, 1))) is None


# --- storage: corrections teach, the next document uses it ---------------------------------

HUBER_IBAN = "CH2900700111122233344"
HUBER = {
    "id": "S003",
    "name": "Huber Bürotechnik GmbH",
    "iban": HUBER_IBAN,
    "address": {"street": "Seeweg 4", "postcode": "8800", "city": "Thalwil"},
}


@pytest.fixture
def firm(runtime, load_firm):
    load_firm(suppliers=[SUPPLIER_GLOOR, HUBER])
    return runtime.db


def huber_invoice(number: str, **kw):
    data = {
        "supplier_name": HUBER["name"],
        "supplier_iban": HUBER_IBAN,
        "supplier_address": None,
        "invoice_number": number,
        "reference": None,
        "text": f"Rechnung {number}\nDiverse Arbeiten\nTotal CHF 1081.00",
    }
    return invoice(OFFLINE, **(data | kw))


def open_task(db, document_id: int) -> TaskRow:
    with db.session() as s:
        return s.scalar(
            select(TaskRow).where(TaskRow.document_id == document_id, TaskRow.status == "open")
        )


def correct(db, task_id: int, user: User, **fields) -> TaskRow:
    with db.session() as s:
        return complete_task(
            s,
            Scope.of(user),
            task_id,
            user,
            Corrections(**fields),
            rebuild=rebuild_booking,
            is_credit=is_credit,
        )


def test_a_correction_teaches_and_the_next_invoice_posts_without_a_task(firm):
    first = record(firm, "C02", "h1")
    outcome = route_recorded(firm, first, huber_invoice("H-1"))
    assert outcome.task_kinds == ["review_document"] and outcome.booking_status == "draft"
    task = open_task(firm, first)
    correct(firm, task.id, ANNA, account="6500", vat_code="VI81", payment_method="invoice_to_pay")
    with firm.session() as s:
        rules = learned_for(s, "C02", "S003")
        assert {f.value: v.value for f, v in rules.values.items()} == {
            "account": "6500",
            "vat_code": "VI81",
            "payment_method": "invoice_to_pay",
        }
        assert rules.account is not None and rules.account.learned_by == "anna"
        assert [(c.field, c.how, c.after) for c in rules.history][-1] == (
            LearnedField.ACCOUNT,
            LearnedHow.CORRECTION,
            "6500",
        )
        assert (
            s.scalar(select(BookingRow).where(BookingRow.document_id == first)).corrected_by
            == "anna"
        )
        assert learned_for(s, "C01", "S003").values == {}  # per client

    second = record(firm, "C02", "h2")
    outcome = route_recorded(firm, second, huber_invoice("H-2"))
    assert (outcome.rule, outcome.booking_status, outcome.task_ids) == ("auto_post", "posted", [])
    today = datetime.now(UTC).date()
    assert f"account 6500: learned from correction by anna on {today}" in outcome.reasons
    with firm.session() as s:
        booking = s.scalar(select(BookingRow).where(BookingRow.document_id == second))
        assert lines_of(booking)[0] == ("6500", "1000.00", "", "VI81")


def test_the_latest_correction_wins(firm):
    for n, account in enumerate(("6500", "6570"), start=1):
        doc = record(firm, "C02", f"w{n}")
        route_recorded(firm, doc, huber_invoice(f"W-{n}", text=f"Rechnung W-{n}\nTotal"))
        task = open_task(firm, doc)
        if task is not None:
            correct(firm, task.id, ANNA, account=account)
        else:  # the first correction made it post; a person corrects the rule instead
            with firm.session() as s:
                learn_from_correction(
                    s,
                    client_id="C02",
                    supplier_id="S003",
                    document_id=doc,
                    given={"account": account},
                    by="anna",
                    staff=True,
                )
    with firm.session() as s:
        rules = learned_for(s, "C02", "S003")
        assert rules.account is not None and rules.account.value == "6570"
        assert [(c.before, c.after) for c in rules.history] == [("6500", "6570"), (None, "6500")]


def test_a_corrected_supplier_teaches_its_printed_name_but_a_client_never_an_iban(firm):
    doc = record(firm, "C01", "c1")
    printed = invoice(
        ONLINE, supplier_name="Elektro-Service Winterthur", supplier_iban="CH6304835000000001234"
    )
    route_recorded(firm, doc, printed)
    with firm.session() as s:
        learned_now = learn_from_correction(
            s,
            client_id="C01",
            supplier_id=None,
            document_id=doc,
            given={"supplier_id": "S001", "account": "6100"},
            by="hans",
            staff=False,
        )
        assert "name 'Elektro-Service Winterthur' is an alias of Gloor Elektro AG" in learned_now
        assert not any("IBAN" in sentence for sentence in learned_now)
        assert s.scalars(
            select(SupplierIban.iban).where(SupplierIban.supplier_id == "S001")
        ).all() == ["CH9300762011623852957"]
        alias = s.scalar(select(SupplierAlias))
        assert (alias.kind, alias.client_id, alias.learned_by) == ("name", "C01", "hans")
        # The client's own matching finds it by that name; another client's does not.
        found = SqlSupplierDirectory(s, "C01").by_name("Elektro-Service Winterthur")
        assert found[0].id == "S001" and found[0].aliases == ["elektro service winterthur"]
        other = SqlSupplierDirectory(s, "C02")
        assert other.alias_ids("Elektro-Service Winterthur") == []
        assert all(c.aliases == [] for c in other.by_name("Elektro-Service Winterthur"))

        # Staff correcting the same: the IBAN becomes the supplier's, confirmed by anna.
        learned_now = learn_from_correction(
            s,
            client_id="C01",
            supplier_id=None,
            document_id=doc,
            given={"supplier_id": "S001"},
            by="anna",
            staff=True,
        )
        assert "IBAN CH63 0483 5000 0000 0123 4 confirmed as Gloor Elektro AG's" in learned_now
        confirmed = s.get(SupplierIban, ("CH6304835000000001234", "S001"))
        assert confirmed is not None and confirmed.confirmed_by == "anna"
        kinds = {a.kind for a in learned_for(s, "C01", "S001").aliases}
        assert kinds == {AliasKind.NAME, AliasKind.IBAN}


def test_the_next_document_with_a_learned_name_is_matched_by_it(firm):
    printed = {"supplier_name": "HB Technik Thalwil", "supplier_iban": None}
    first = record(firm, "C02", "n1")
    outcome = route_recorded(firm, first, huber_invoice("N-1", **printed))
    assert outcome.supplier_id is None and outcome.task_kinds == ["review_document"]
    correct(firm, open_task(firm, first).id, ANNA, supplier_id="S003", account="6500")
    second = record(firm, "C02", "n2")
    outcome = route_recorded(firm, second, huber_invoice("N-2", **printed))
    assert outcome.supplier_id == "S003"
    assert (
        "supplier: rule name_directory, score 100 — name 'HB Technik Thalwil' is an alias of "
        "Huber Bürotechnik GmbH learned from a correction"
    ) in outcome.reasons
    assert f"account 6500: learned from correction by anna on {datetime.now(UTC).date()}" in (
        outcome.reasons
    )


def test_a_reject_as_private_teaches_private(firm):
    first = record(firm, "C02", "p1")
    route_recorded(firm, first, huber_invoice("P-1"))
    with firm.session() as s:
        reject_task(s, Scope.staff(), open_task(firm, first).id, ANNA, "private")
    with firm.session() as s:
        assert learned_for(s, "C02", "S003").private
    second = record(firm, "C02", "p2")
    outcome = route_recorded(firm, second, huber_invoice("P-2"))
    assert outcome.booking_status == "draft" and "review_document" in outcome.task_kinds
    assert any(r.startswith("private: learned from correction by anna") for r in outcome.reasons)


def test_a_corrected_field_teaches_where_the_layout_prints_it(firm):
    doc = record(firm, "C02", "f1")
    route_recorded(firm, doc, huber_invoice("F-1", total=D("1018.00")))
    with firm.session() as s:
        sha = s.get(DocumentRow, doc).sha256
        words = [
            {"text": "Total", "page": 1, "x0": 60, "top": 500, "x1": 95, "bottom": 510},
            {"text": "1'081.00", "page": 1, "x0": 450, "top": 500, "x1": 510, "bottom": 510},
        ]
        page = {"number": 1, "width": 595.0, "height": 842.0, "text": "", "words": words}
        s.add(ReadingCache(sha256=sha, reader_version="1", data={"pages": [page]}))
    correct(firm, open_task(firm, doc).id, ANNA, total=D("1081.00"), account="6500")
    with firm.session() as s:
        position = s.get(FieldPosition, ("S003", "total"))
        assert position is not None and position.learned_by == "anna"
        assert (position.page, round(position.x0, 3), round(position.y0, 3)) == (
            1,
            round(450 / 595, 3),
            round(500 / 842, 3),
        )


def test_a_position_a_client_user_taught_does_not_name_them_to_other_clients(firm):
    """Regression: positions are the supplier's and used for every client's documents, so
    a client user's name would have reached another client's reasons."""
    doc = record(firm, "C02", "f2")
    with firm.session() as s:
        sha = s.get(DocumentRow, doc).sha256
        words = [{"text": "1'081.00", "page": 1, "x0": 450, "top": 500, "x1": 510, "bottom": 510}]
        page = {"number": 1, "width": 595.0, "height": 842.0, "text": "", "words": words}
        s.add(ReadingCache(sha256=sha, reader_version="1", data={"pages": [page]}))
    with firm.session() as s:
        learn_from_correction(
            s,
            client_id="C02",
            supplier_id="S003",
            document_id=doc,
            given={"total": D("1081.00")},
            by="fritz",
            staff=False,
        )
    with firm.session() as s:
        position = s.get(FieldPosition, ("S003", "total"))
        assert position is not None and position.learned_by == CLIENT_USER != "fritz"


# --- the supplier API ------------------------------------------------------------------------


@pytest.fixture
def http(db, fs_store, settings):
    from ingest.api import create_app
    from tests.factories import firm_with_passwords, load

    data = firm_with_passwords()
    data["suppliers"].append(HUBER)
    load(db, data)
    with db.session() as s:
        s.add(
            SupplierRow(
                id="new-77",
                name="Eigenes GmbH",
                name_normalized="eigenes",
                status="proposed",
                proposed_by_client_id="C02",
            )
        )
        learn_from_correction(
            s,
            client_id="C01",
            supplier_id="S001",
            document_id=0,
            given={"account": "6570"},
            by="anna",
            staff=True,
        )
    with TestClient(create_app(db, fs_store, settings, None), raise_server_exceptions=False) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_supplier_shows_what_its_client_learned_and_hides_from_others(http):
    hans = http.get("/api/v1/suppliers/S001", headers=auth("token-hans"))
    assert hans.status_code == 200, hans.text
    body = hans.json()
    assert (body["name"], body["account"], body["client_id"]) == ("Gloor Elektro AG", "6100", "C01")
    assert body["ibans"] == ["CH93 0076 2011 6238 5295 7"]
    assert body["learned"]["values"]["account"]["value"] == "6570"
    assert body["learned"]["values"]["account"]["learned_by"] == "anna"
    # Another client's proposal, a supplier the client never dealt with, an employee: 404.
    for path, token in (
        ("/api/v1/suppliers/new-77", "token-hans"),
        ("/api/v1/suppliers/S003", "token-hans"),
        ("/api/v1/suppliers/S001", "token-lea"),
    ):
        response = http.get(path, headers=auth(token))
        assert response.status_code == 404, (path, token)
        assert response.json()["detail"].startswith("no supplier ")
    staff = http.get("/api/v1/suppliers/new-77", headers=auth("staff-token-anna"))
    assert staff.status_code == 200 and staff.json()["learned"] is None
    staff = http.get("/api/v1/suppliers/S001?client=C02", headers=auth("staff-token-anna"))
    assert staff.json()["learned"]["values"] == {}  # C01's rule is C01's


def test_editing_what_was_learned(http):
    put = http.put(
        "/api/v1/suppliers/S001/learned/account", headers=auth("token-hans"), json={"value": "6500"}
    )
    assert put.status_code == 200, put.text
    learned_now = put.json()["learned"]
    assert learned_now["values"]["account"]["value"] == "6500"
    assert learned_now["history"][0] | {"at": None} == {
        "field": "account",
        "before": "6570",
        "after": "6500",
        "how": "edited",
        "by": "hans",
        "at": None,
        "document_id": None,
    }
    bad = http.put(
        "/api/v1/suppliers/S001/learned/account", headers=auth("token-hans"), json={"value": "65"}
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("value: account must be")
    unknown = http.put(
        "/api/v1/suppliers/S001/learned/colour", headers=auth("token-hans"), json={"value": "x"}
    )
    assert unknown.status_code == 422 and "field" in unknown.text
    deleted = http.delete("/api/v1/suppliers/S001/learned/account", headers=auth("token-hans"))
    assert deleted.status_code == 200
    assert "account" not in deleted.json()["learned"]["values"]
    assert deleted.json()["learned"]["history"][0]["how"] == "deleted"
    # Staff edit any client's rules, naming the client.
    staff = http.put(
        "/api/v1/suppliers/S001/learned/payment_method",
        headers=auth("staff-token-anna"),
        json={"value": "company_card"},
    )
    assert staff.status_code == 422 and "client" in staff.json()["detail"]
    staff = http.put(
        "/api/v1/suppliers/S001/learned/payment_method?client=C02",
        headers=auth("staff-token-anna"),
        json={"value": "company_card"},
    )
    assert staff.status_code == 200
    assert staff.json()["learned"]["values"]["payment_method"]["learned_by"] == "anna"
    # An employee edits nothing.
    lea = http.put(
        "/api/v1/suppliers/S001/learned/account", headers=auth("token-lea"), json={"value": "6500"}
    )
    assert lea.status_code == 404


def test_the_main_account_of_a_gross_booking_is_the_expense_not_the_creditor():
    """Regression (found by bench/learning.py): an invoice without VAT books two lines of
    the same amount; the first one was taken for the counter-account, so "the account"
    of an insurance premium was 2000, and a correction kept or learned that."""
    from domain.booking_lines import main_account
    from domain.records import BookingLine

    gross = [
        BookingLine(account="6300", debit=D("545.00")),
        BookingLine(account="2000", credit=D("545.00")),
    ]
    assert main_account(gross) == "6300"
    assert main_account(list(reversed(gross))) == "6300"
    sales = [
        BookingLine(account="1100", debit=D("200.00")),
        BookingLine(account="3400", credit=D("200.00")),
    ]
    assert main_account(sales) == "3400"


def test_a_letterheads_telephone_number_does_not_make_an_invoice_office_costs():
    """Regression (found by bench/learning.py): "Telefon 044 …" in every letterhead booked
    invoices of cleaners, IT firms and fiduciaries to 6500 office and communication,
    certain and posted; and "Unterhaltsreinigung" was taken for repairs."""
    from routing.accounts import cost_account

    nobody = GLOOR.model_copy(update={"account": None, "name": "Moser AG"})
    letterhead = invoice(
        OFFLINE, supplier_name="Moser AG", text="Moser AG\nTelefon 044 123 45 67\nBeratung"
    )
    assert cost_account(letterhead, nobody, None).account == "4400"
    cleaning = invoice(OFFLINE, supplier_name="Moser AG", text="Unterhaltsreinigung März")
    assert cost_account(cleaning, nobody, None).account == "6040"
    phone_bill = invoice(OFFLINE, supplier_name="Moser AG", text="Telefonie und Internet März")
    assert cost_account(phone_bill, nobody, None).account == "6500"
