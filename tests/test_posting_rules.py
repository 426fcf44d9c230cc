"""A client's posting rules, bank accounts and reconciliation settings: from the master
data, by hand on the command line (`fiduflow rules list|set`) and over HTTP
(`GET|PUT /api/v1/clients/{id}/posting-rules`) — on SQLite and PostgreSQL."""

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from domain.masterdata import MasterData
from domain.reconciliation import Direction, PostingRule
from domain.settings import Settings
from flows.cli import app
from storage.db import Database
from storage.masterdata import get_client
from storage.objects import FilesystemObjectStore
from storage.posting_rules import UnknownClient, posting_rules, set_posting_rules
from tests.factories import firm_with_passwords, load, master_data
from tests.test_api import ANNA, FRITZ, HANS, LEA, Api, _serve

RENT_IBAN = "CH25 0070 0110 0045 6789 1"
SECOND_ACCOUNT = "CH93 0076 2011 6238 5295 7"
RENT = {"name": "Rent", "counterparty_iban": RENT_IBAN, "direction": "debit", "account": "6000"}
FEES = {"name": "Bank fees", "text_contains": "Kontoführung", "account": "6940", "vat_code": None}


def firm(**banking: Any) -> dict[str, Any]:
    """The conftest firm, C01 with the given `reconciliation`, `bank_accounts`,
    `posting_rules` (none given: the sections are left out of the file)."""
    data = master_data()
    data["clients"][0].update(banking)
    return data


def with_banking() -> dict[str, Any]:
    return firm(
        reconciliation={"date_window_days": 5, "discount_pct": 2, "fee_tolerance": "3.50"},
        bank_accounts=[
            {"iban": "CH44 3199 9123 0008 8901 2"},
            {"iban": SECOND_ACCOUNT, "account": "1021"},
        ],
        posting_rules=[RENT, FEES],
    )


def rules_of(db: Database, client_id: str = "C01") -> list[PostingRule]:
    with db.session() as session:
        return posting_rules(session, client_id)


# --- master data -----------------------------------------------------------------------


def test_master_data_rules_accounts_and_settings_read_back(db: Database) -> None:
    load(db, with_banking())
    with db.session() as session:
        client = get_client(session, "C01")
        other = get_client(session, "C02")
    banking = client.banking
    assert banking.reconciliation.date_window_days == 5
    assert banking.reconciliation.discount_pct == Decimal(2)
    assert banking.reconciliation.fee_tolerance == Decimal("3.50")
    assert banking.ledger_account("CH44 3199 9123 0008 8901 2") == "1020"  # the default
    assert banking.ledger_account(SECOND_ACCOUNT) == "1021"
    assert [r.name for r in banking.posting_rules] == ["Rent", "Bank fees"]
    rent, fees = banking.posting_rules
    assert rent.counterparty_iban == "CH2500700110004567891"
    assert rent.direction is Direction.DEBIT and rent.account == "6000"
    assert fees.text_contains == "Kontoführung" and fees.account == "6940"
    # A bank account's IBAN is the client's own, as its `iban` is.
    assert client.own_ibans == {"CH4431999123000889012", "CH9300762011623852957"}
    # The other client has none of it: defaults, no rules.
    assert other.banking.posting_rules == [] and other.banking.bank_accounts == []
    assert other.banking.reconciliation.date_window_days == 10


def test_a_reload_overwrites_what_it_lists_and_keeps_what_it_leaves_out(db: Database) -> None:
    load(db, with_banking())
    changed = with_banking()
    changed["clients"][0]["posting_rules"] = [{**RENT, "account": "6001"}]
    changed["clients"][0]["reconciliation"] = {"date_window_days": 20}
    load(db, changed)
    with db.session() as session:
        banking = get_client(session, "C01").banking
    assert [(r.name, r.account) for r in banking.posting_rules] == [("Rent", "6001")]
    assert banking.reconciliation.date_window_days == 20
    assert banking.reconciliation.fee_tolerance == Decimal("5.00")  # unlisted: default again

    # A file without the sections (most firms' files) leaves what staff set by hand.
    with db.session() as session:
        set_posting_rules(session, "C01", [PostingRule.model_validate(FEES)])
    load(db, firm())
    with db.session() as session:
        banking = get_client(session, "C01").banking
    assert [r.name for r in banking.posting_rules] == ["Bank fees"]
    assert banking.ledger_account(SECOND_ACCOUNT) == "1021"

    # An empty list is listed: it removes them.
    load(db, firm(posting_rules=[], bank_accounts=[]))
    assert rules_of(db) == []
    with db.session() as session:
        assert get_client(session, "C01").own_ibans == {"CH4431999123000889012"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"posting_rules": [RENT, {**FEES, "account": "69400"}]},
            "clients.0.posting_rules.1.account: String should match pattern",
        ),
        (
            {"posting_rules": [{"name": "Everything", "direction": "debit", "account": "6000"}]},
            "posting rule 'Everything' needs counterparty_iban, text_contains or amount",
        ),
        (
            {"posting_rules": [RENT, {**FEES, "name": "Rent"}]},
            "client C01: posting rule names must be unique: Rent",
        ),
        (
            {"posting_rules": [{**RENT, "acount": "6000"}]},
            "clients.0.posting_rules.0.acount: Extra inputs are not permitted",
        ),
        (
            {"reconciliation": {"date_window_day": 5}},
            "clients.0.reconciliation.date_window_day: Extra inputs are not permitted",
        ),
        (
            {"bank_accounts": [{"iban": "CH44 3199 9123 0008 8901 2", "account": "bank"}]},
            "clients.0.bank_accounts.0.account: String should match pattern",
        ),
    ],
    ids=[
        "bad-account",
        "names-nothing",
        "same-name-twice",
        "misspelt-field",
        "misspelt-setting",
        "bad-ledger-account",
    ],
)
def test_setup_load_refuses_a_bad_rule_naming_where(
    change: dict[str, Any], message: str, runtime: Any, tmp_path: Path
) -> None:
    data = firm(**change)
    with pytest.raises(ValidationError):
        MasterData.model_validate(data)
    file = tmp_path / "firm.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(app, ["setup", "load", str(file)])
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split())
    assert "token-" not in result.output  # the usual load error: no secrets echoed
    with runtime.db.session() as session:
        assert get_client(session, "C01") is None  # nothing was written


def test_set_posting_rules_keeps_settings_and_accounts(db: Database) -> None:
    load(db, with_banking())
    with db.session() as session:
        set_posting_rules(session, "C01", [PostingRule.model_validate({**FEES, "amount": "7"})])
    with db.session() as session:
        banking = get_client(session, "C01").banking
    assert [(r.name, r.amount) for r in banking.posting_rules] == [("Bank fees", Decimal("7.00"))]
    assert banking.reconciliation.date_window_days == 5
    assert banking.ledger_account(SECOND_ACCOUNT) == "1021"
    assert rules_of(db, "C02") == []  # the other client's rules did not move
    with db.session() as session, pytest.raises(UnknownClient, match="no client 'C99'"):
        set_posting_rules(session, "C99", [])
    with db.session() as session, pytest.raises(ValueError, match="must be unique: Rent"):
        set_posting_rules(session, "C01", [PostingRule.model_validate(RENT)] * 2)
    assert [r.name for r in rules_of(db)] == ["Bank fees"]


# --- command line ----------------------------------------------------------------------


def rules(*args: str) -> Any:
    return CliRunner().invoke(app, ["rules", *args])


def test_rules_list_prints_a_table_or_json(runtime: Any) -> None:
    load(runtime.db, with_banking())
    listed = rules("list", "--client", "C01", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == [
        {
            "name": "Rent",
            "counterparty_iban": "CH2500700110004567891",
            "text_contains": None,
            "direction": "debit",
            "amount": None,
            "amount_max": None,
            "account": "6000",
            "vat_code": None,
        },
        {
            "name": "Bank fees",
            "counterparty_iban": None,
            "text_contains": "Kontoführung",
            "direction": None,
            "amount": None,
            "amount_max": None,
            "account": "6940",
            "vat_code": None,
        },
    ]
    table = rules("list", "--client", "C01")
    assert table.exit_code == 0, table.output
    for shown in ("Rent", "Bank fees", "debit", "6000", "6940"):  # narrow: columns fold
        assert shown in table.stdout, table.stdout
    assert "no posting rules" in rules("list", "--client", "C02").stdout
    unknown = rules("list", "--client", "C99")
    assert unknown.exit_code == 1 and "no client 'C99'" in unknown.output


def test_rules_set_replaces_them_from_yaml_or_json(runtime: Any, tmp_path: Path) -> None:
    load(runtime.db, with_banking())
    as_yaml = tmp_path / "rules.yaml"
    as_yaml.write_text(
        "posting_rules:\n"
        "  - {name: Leasing, counterparty_iban: CH56 0483 5012 3456 7800 9, amount: '450',\n"
        "     direction: debit, account: '6105', vat_code: VB81}\n",
        encoding="utf-8",
    )
    done = rules("set", "--client", "C01", str(as_yaml))
    assert done.exit_code == 0, done.output
    assert "C01: 1 posting rule(s) set" in done.stdout
    [leasing] = rules_of(runtime.db)
    assert leasing.name == "Leasing" and leasing.amount == Decimal("450")
    assert leasing.counterparty_iban == "CH5604835012345678009" and leasing.vat_code == "VB81"

    as_json = tmp_path / "rules.json"
    as_json.write_text(json.dumps([RENT, FEES]), encoding="utf-8")
    assert rules("set", "--client", "C01", str(as_json)).exit_code == 0
    assert [r.name for r in rules_of(runtime.db)] == ["Rent", "Bank fees"]
    with runtime.db.session() as session:  # the rest of its banking untouched
        assert get_client(session, "C01").banking.reconciliation.date_window_days == 5

    as_json.write_text("[]", encoding="utf-8")
    assert rules("set", "--client", "C01", str(as_json)).exit_code == 0
    assert rules_of(runtime.db) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            json.dumps([RENT, {**FEES, "account": "69"}]),
            "posting rule 2 ('Bank fees'): account: String should match pattern",
        ),
        (
            json.dumps([{**RENT, "amount": "-100"}]),
            "posting rule 1 ('Rent'): amount: Input should be greater than 0",
        ),
        (
            json.dumps([{"name": "All debits", "direction": "debit", "account": "6000"}]),
            "posting rule 1 ('All debits'): posting rule 'All debits' needs counterparty_iban",
        ),
        (json.dumps([RENT, RENT]), "posting rule names must be unique: Rent"),
        (json.dumps({"rules": [RENT]}), "expected a list of posting rules"),
        ("", "expected a list of posting rules"),  # an empty file removes nothing
        ("[{name: Rent", "is not valid YAML/JSON"),
    ],
    ids=[
        "bad-account",
        "negative-amount",
        "names-nothing",
        "same-name",
        "not-a-list",
        "empty",
        "broken-yaml",
    ],
)
def test_rules_set_refuses_invalid_rules_with_exit_code_2(
    content: str, message: str, runtime: Any, tmp_path: Path
) -> None:
    load(runtime.db, with_banking())
    file = tmp_path / "rules.yaml"
    file.write_text(content, encoding="utf-8")
    result = rules("set", "--client", "C01", str(file))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert [r.name for r in rules_of(runtime.db)] == ["Rent", "Bank fees"]  # unchanged


def test_rules_set_for_an_unknown_client_says_so(runtime: Any, tmp_path: Path) -> None:
    load(runtime.db, master_data())
    file = tmp_path / "rules.json"
    file.write_text(json.dumps([RENT]), encoding="utf-8")
    result = rules("set", "--client", "C99", str(file))
    assert result.exit_code == 1
    assert "no client 'C99'" in result.output and "Traceback" not in result.output


# --- HTTP ------------------------------------------------------------------------------


@pytest.fixture
def api(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Api]:
    data = firm_with_passwords()
    data["clients"][0].update(with_banking()["clients"][0])
    load(db, data)
    yield from _serve(db, fs_store, settings)


ROUTE = "/api/v1/clients/{}/posting-rules"


@pytest.mark.http
def test_get_posting_rules_for_staff_and_the_clients_company_users(api: Api) -> None:
    with api.client() as http:
        by_staff = http.get(ROUTE.format("C01"), headers=ANNA)
        by_hans = http.get(ROUTE.format("C01"), headers=HANS)
        other = http.get(ROUTE.format("C02"), headers=HANS)
        missing = http.get(ROUTE.format("C99"), headers=HANS)
        employees = [
            http.get(ROUTE.format(c), headers=h) for c in ("C01", "C99") for h in (LEA, FRITZ)
        ]
        none = http.get(ROUTE.format("C02"), headers=ANNA)
        staff_missing = http.get(ROUTE.format("C99"), headers=ANNA)
    assert by_staff.status_code == 200, by_staff.text
    assert [r["name"] for r in by_staff.json()] == ["Rent", "Bank fees"]
    assert by_staff.json()[0]["counterparty_iban"] == "CH2500700110004567891"
    assert by_hans.json() == by_staff.json()
    # Another client's id answers exactly like a missing one.
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"].replace("C02", "X") == missing.json()["detail"].replace(
        "C99", "X"
    )
    # Employee access is upload only: the same 403 whichever id.
    assert {r.status_code for r in employees} == {403}
    assert len({r.json()["detail"] for r in employees}) == 1
    assert none.status_code == 200 and none.json() == []
    assert staff_missing.status_code == 404


@pytest.mark.http
def test_put_posting_rules_is_for_staff_and_answers_the_stored_list(api: Api) -> None:
    new = [{**FEES, "amount": "12.5"}, {**RENT, "counterparty_iban": "ch56 0483 5012 3456 7800 9"}]
    with api.client() as http:
        by_hans = http.put(ROUTE.format("C01"), headers=HANS, json=new)
        by_lea = http.put(ROUTE.format("C01"), headers=LEA, json=new)
        foreign = http.put(ROUTE.format("C02"), headers=HANS, json=new)
        assert [r["name"] for r in http.get(ROUTE.format("C01"), headers=ANNA).json()] == [
            "Rent",
            "Bank fees",
        ]  # none of those changed anything
        stored = http.put(ROUTE.format("C01"), headers=ANNA, json=new)
        read = http.get(ROUTE.format("C01"), headers=HANS)
        unknown = http.put(ROUTE.format("C99"), headers=ANNA, json=new)
    assert by_hans.status_code == 403 and "staff" in by_hans.json()["detail"]
    assert by_lea.status_code == 403
    assert foreign.status_code == 404
    assert stored.status_code == 200, stored.text
    assert stored.json() == read.json()
    assert [(r["name"], r["amount"]) for r in stored.json()] == [
        ("Bank fees", "12.50"),
        ("Rent", None),
    ]
    assert stored.json()[1]["counterparty_iban"] == "CH5604835012345678009"
    assert unknown.status_code == 404
    with api.db.session() as session:
        client = get_client(session, "C01")
    assert client.banking.reconciliation.date_window_days == 5  # untouched
    assert client.banking.ledger_account(SECOND_ACCOUNT) == "1021"
    assert rules_of(api.db, "C02") == []


@pytest.mark.http
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([RENT, {**FEES, "account": "x"}], r"posting rule 2 \('Bank fees'\): account: "),
        ([{**RENT, "text_contains": "a"}], r"posting rule 1 \('Rent'\): text_contains: "),
        ([RENT, RENT], r"posting rule names must be unique: Rent"),
        ({"name": "Rent"}, r"expected a list of posting rules"),
        (None, r"body: the complete list of posting rules"),
    ],
    ids=["bad-account", "short-text", "same-name", "not-a-list", "no-body"],
)
def test_put_invalid_rules_answers_422_naming_rule_and_field(
    api: Api, body: Any, message: str
) -> None:
    with api.client() as http:
        response = http.put(
            ROUTE.format("C01"), headers=ANNA, **({} if body is None else {"json": body})
        )
    assert response.status_code == 422, response.text
    assert re.search(message, response.json()["detail"]), response.json()
    assert [r.name for r in rules_of(api.db)] == ["Rent", "Bank fees"]  # unchanged


@pytest.mark.http
def test_put_an_empty_list_removes_the_rules(api: Api) -> None:
    with api.client() as http:
        response = http.put(ROUTE.format("C01"), headers=ANNA, json=[])
        schema = http.get("/openapi.json").json()
    assert response.status_code == 200 and response.json() == []
    assert rules_of(api.db) == []
    # /docs shows the body's shape: a list of rules, whose schema is there to show.
    body = schema["paths"]["/api/v1/clients/{client_id}/posting-rules"]["put"]["requestBody"]
    items = body["content"]["application/json"]["schema"]["items"]["$ref"]
    assert "account" in schema["components"]["schemas"][items.rsplit("/", 1)[1]]["properties"]
