"""Straight-through: how much of a known offline client's paperwork posts without a person.

    .venv/bin/python bench/straight_through.py              # 60 documents
    .venv/bin/python bench/straight_through.py --docs 120 --seed 7

An offline client (the fiduciary books everything) whose master data knows every supplier
fully: name, UID, IBAN and the account it is booked to. `--docs` generated documents
(tests/docgen) from those suppliers go through the real pipeline — intake, reading,
matching, routing, persisting (`flows.pipeline.process_one` without Prefect runs, SQLite
and files in a temporary folder): supplier invoices with and without QR-bill, credit
notes, and till receipts handed in as paid by company card (`Submission.payment_method`),
each as a text PDF, an office scan (`tests.docgen.scan`) or a phone photo
(`tests.docgen.photo`), split 60/25/15 %.

Printed per kind of document and per kind of copy: straight-through (posted without a
task), documents with a task, wrong postings (a posted booking whose main account is not
the supplier's or whose total is not the truth's), and the most frequent reasons and
issues of the documents that got a task — the reviews still left. The last line is
key=value:

    stp_pct=… stp_text=… stp_scan=… stp_photo=… wrong_pct=… posted=… docs=…

Target (issue 14): stp_pct ≥ 90, wrong_pct ≤ 0.5.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.common import offline_firm  # noqa: E402
from domain.booking_lines import main_account  # noqa: E402
from domain.enums import Channel, PaymentMethod  # noqa: E402
from domain.masterdata import MasterData  # noqa: E402
from domain.records import BookingLine  # noqa: E402
from domain.settings import Settings  # noqa: E402
from flows.pipeline import process_one  # noqa: E402
from flows.runtime import Runtime, set_runtime  # noqa: E402
from ingest.intake import Submission, intake  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.masterdata import load_master_data  # noqa: E402
from storage.objects import FilesystemObjectStore  # noqa: E402
from storage.tables import BookingRow, DocumentRow, TaskRow  # noqa: E402
from tests.docgen import (  # noqa: E402
    Company,
    GeneratedDocument,
    credit_note,
    photo,
    random_client_company,
    random_company,
    receipt,
    scan,
    supplier_invoice,
)
from tests.docgen.receipts import random_shop  # noqa: E402

# The account the firm books each supplier to (Swiss SME chart), on file in master data.
TRADE_ACCOUNT = {
    "elektro": "6100",  # repairs and maintenance
    "informatik": "6570",  # IT
    "reinigung": "6040",  # cleaning
    "druckerei": "6600",  # advertising
    "transport": "4270",  # inbound freight
    "treuhand": "6530",  # accounting and advice
}
SHOP_ACCOUNT = {
    "restaurant": "5820",  # travel and meals
    "fuel": "6200",  # vehicle
    "stationery": "6500",  # office
}
# Share of each kind of document, and of each kind of copy.
KINDS = {"invoice_qr": 30, "invoice": 25, "receipt": 30, "credit_note": 15}
COPIES = {"text": 60, "scan": 25, "photo": 15}


@dataclass
class Doc:
    id: int
    supplier_id: str
    kind: str
    copy: str
    total: Decimal


def firm(rng: random.Random) -> tuple[dict[str, Any], Company, dict[str, Company], dict[str, str]]:
    client = random_client_company(rng, language="de")
    companies: dict[str, Company] = {}
    accounts: dict[str, str] = {}
    for trade, account in TRADE_ACCOUNT.items():
        sid = f"S{len(companies) + 1:03d}"
        companies[sid] = random_company(rng, "CH", kind=trade, language="de")
        accounts[sid] = account
    for shop, account in SHOP_ACCOUNT.items():
        sid = f"S{len(companies) + 1:03d}"
        companies[sid] = random_shop(rng, kind=shop, language="de")
        accounts[sid] = account
    data = offline_firm(client, companies, accounts)
    return data, client, companies, accounts


def spread(rng: random.Random, shares: dict[str, int], n: int) -> list[str]:
    """`n` labels in the given shares (largest remainder), shuffled."""
    total = sum(shares.values())
    counts = {k: n * v // total for k, v in shares.items()}
    by_rest = sorted(shares, key=lambda k: (n * shares[k]) % total, reverse=True)
    for k in by_rest[: n - sum(counts.values())]:
        counts[k] += 1
    out = [k for k, c in counts.items() for _ in range(c)]
    rng.shuffle(out)
    return out


def generate(
    rng: random.Random, client: Company, companies: dict[str, Company], n: int
) -> list[tuple[str, str, str, GeneratedDocument, Submission]]:
    trades = [sid for sid, c in companies.items() if not c.trade.startswith("shop:")]
    shops = [sid for sid, c in companies.items() if c.trade.startswith("shop:")]
    out = []
    for kind, copy in zip(spread(rng, KINDS, n), spread(rng, COPIES, n), strict=True):
        method = None
        if kind == "receipt":
            sid = rng.choice(shops)
            g = receipt(rng, supplier=companies[sid], currency="CHF", payment="card")
            method = PaymentMethod.COMPANY_CARD
        elif kind == "credit_note":
            sid = rng.choice(trades)
            g = credit_note(rng, supplier=companies[sid], recipient=client, currency="CHF")
        else:
            sid = rng.choice(trades)
            g = supplier_invoice(
                rng,
                supplier=companies[sid],
                recipient=client,
                currency="CHF",
                with_qr=kind == "invoice_qr",
            )
        if copy == "scan":
            g = scan(g, rng)
        elif copy == "photo":
            g = photo(g, rng)
        submission = Submission(
            client_id="C01",
            channel=Channel.EMAIL,
            data=g.data,
            filename=g.filename,
            payment_method=method,
        )
        out.append((sid, kind, copy, g, submission))
    return out


def generalise(reason: str) -> str:
    """A reason without its figures and names' numbers, so alike reasons count together."""
    return re.sub(r"\d[\d'.,]*", "#", reason)[:140]


@dataclass
class Outcome:
    doc: Doc
    posted: bool
    tasked: bool
    wrong: str | None
    reasons: list[str]
    issues: list[str]
    task_reasons: list[str]


def outcome(session: Any, doc: Doc, accounts: dict[str, str]) -> Outcome:
    row = session.get(DocumentRow, doc.id)
    tasks = session.scalars(select(TaskRow).where(TaskRow.document_id == doc.id)).all()
    booking = session.scalar(
        select(BookingRow).where(BookingRow.document_id == doc.id, BookingRow.kind == "document")
    )
    posted = booking is not None and booking.status == "posted"
    wrong = None
    if posted:
        lines = [
            BookingLine(account=x.account, debit=x.debit, credit=x.credit, vat_code=x.vat_code)
            for x in booking.lines
        ]
        account = main_account(lines)
        gross = sum((x.debit for x in lines), Decimal(0))
        if account != accounts[doc.supplier_id] or gross != abs(doc.total):
            wrong = f"booked {account} {gross}, truth {accounts[doc.supplier_id]} {abs(doc.total)}"
    routing = row.routing or {}
    return Outcome(
        doc,
        posted,
        bool(tasks),
        wrong,
        list(routing.get("reasons", [])),
        list(routing.get("issues", [])),
        [f"{t.kind}: {t.reason}" for t in tasks],
    )


def table(title: str, outcomes: list[Outcome], key: Callable[[Outcome], str]) -> None:
    print(
        f"{title:<14}{'docs':>6}{'straight':>10}{'stp %':>8}{'tasked':>8}{'posted':>8}{'wrong':>7}"
    )
    for label in sorted({key(o) for o in outcomes}):
        group = [o for o in outcomes if key(o) == label]
        straight = sum(o.posted and not o.tasked for o in group)
        print(
            f"{label:<14}{len(group):>6}{straight:>10}{100 * straight / len(group):>8.1f}"
            f"{sum(o.tasked for o in group):>8}{sum(o.posted for o in group):>8}"
            f"{sum(o.wrong is not None for o in group):>7}"
        )


def stp(outcomes: list[Outcome]) -> float:
    return (
        100 * sum(o.posted and not o.tasked for o in outcomes) / len(outcomes) if outcomes else 0.0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=60, help="documents to run")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    if args.docs < 1:
        parser.error("--docs must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(args.seed)
    data, client, companies, accounts = firm(rng)
    generated = generate(rng, client, companies, args.docs)

    with tempfile.TemporaryDirectory(prefix="fiduflow-stp-") as folder:
        settings = Settings(data_dir=Path(folder), dispatch="none", ocr_processes=2)
        db = Database(settings.resolved_database_url)
        db.migrate()
        runtime = Runtime(
            settings=settings, db=db, store=FilesystemObjectStore(settings.data_dir / "objects")
        )
        set_runtime(runtime)
        with runtime.db.session() as session:
            load_master_data(session, MasterData.model_validate(data))
        started = time.perf_counter()
        docs = []
        for sid, kind, copy, g, submission in generated:
            recorded = intake(runtime.db, runtime.store, submission, max_bytes=50 * 1024 * 1024)
            process_one(recorded.document_id, step_runs=False)
            docs.append(Doc(recorded.document_id, sid, kind, copy, g.truth.total))
        elapsed = time.perf_counter() - started
        with runtime.db.session() as session:
            outcomes = [outcome(session, d, accounts) for d in docs]
        runtime.db.dispose()
        set_runtime(None)

    print(
        f"straight-through: offline client, {len(companies)} fully known suppliers, "
        f"{args.docs} documents (seed {args.seed}, {elapsed:.0f} s)"
    )
    table("document", outcomes, lambda o: o.doc.kind)
    table("copy", outcomes, lambda o: o.doc.copy)
    for o in outcomes:
        if o.wrong:
            print(f"  wrong: document {o.doc.id} ({o.doc.kind}, {o.doc.copy}) {o.wrong}")
    tasked = [o for o in outcomes if o.tasked]
    for o in tasked:
        print(
            f"  task: document {o.doc.id} ({o.doc.kind}, {o.doc.copy}): {'; '.join(o.task_reasons)}"
        )
    issues = Counter(i for o in tasked for i in o.issues)
    print(f"issues of the {len(tasked)} documents with a task: {dict(issues.most_common())}")
    print("top task reasons:")
    for reason, n in Counter(generalise(r) for o in tasked for r in o.task_reasons).most_common(10):
        print(f"  {n:>3}  {reason}")
    print("top routing reasons of documents with a task:")
    for reason, n in Counter(generalise(r) for o in tasked for r in set(o.reasons)).most_common(10):
        print(f"  {n:>3}  {reason}")
    posted = sum(o.posted for o in outcomes)
    wrong = sum(o.wrong is not None for o in outcomes)
    wrong_pct = 100 * wrong / posted if posted else 0.0
    by_copy = {c: stp([o for o in outcomes if o.doc.copy == c]) for c in COPIES}
    print(
        f"stp_pct={stp(outcomes):.1f} stp_text={by_copy['text']:.1f} "
        f"stp_scan={by_copy['scan']:.1f} stp_photo={by_copy['photo']:.1f} "
        f"wrong_pct={wrong_pct:.2f} posted={posted} docs={len(outcomes)}"
    )


if __name__ == "__main__":
    main()
