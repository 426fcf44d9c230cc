"""Corrections teach: the straight-through rate before and after people correct.

    .venv/bin/python bench/learning.py                    # 60 + 60 invoices, 6 suppliers
    .venv/bin/python bench/learning.py --docs 120 --suppliers 8 --seed 7

An offline client (the fiduciary books everything) whose master data knows its suppliers
(name, UID, IBAN) but not the account each is booked to. `--docs` generated invoices
(tests/docgen, text PDFs, QR-bill or not) from `--suppliers` Swiss suppliers of different
trades go through the real pipeline — intake, reading, matching, routing, persisting
(`flows.pipeline.process_one` without Prefect runs, SQLite and files in a temporary
folder). What the machine cannot decide becomes a review task; staff then work every
open task with the true values (the generator's truth, and the account the firm books
that trade to) as corrections, through `storage.tasks.complete_task` — exactly what the
task page and `POST /api/v1/tasks/{id}/complete` do. Then `--docs` more invoices of the
same suppliers go through.

Printed, per phase: straight-through (posted without a task), tasks, and wrong postings
(a posted booking whose main account or total is not the truth's); after the
corrections: the share of a corrected supplier's next documents that were booked with
what was learned. The last line is key=value:

    before_stp_pct=… after_stp_pct=… used_learned_pct=… wrong_pct=… wrong=… posted=… docs=…

Targets (issue 15): used_learned_pct ≥ 90; after_stp_pct ≥ before_stp_pct + 10 or ≥ 90;
wrong_pct ≤ 0.5.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.common import offline_firm  # noqa: E402
from domain.booking_lines import main_account  # noqa: E402
from domain.corrections import Corrections  # noqa: E402
from domain.enums import Channel  # noqa: E402
from domain.masterdata import MasterData  # noqa: E402
from domain.records import BookingLine, User  # noqa: E402
from domain.settings import Settings  # noqa: E402
from flows.pipeline import process_one  # noqa: E402
from flows.runtime import Runtime, set_runtime  # noqa: E402
from ingest.intake import Submission, intake  # noqa: E402
from routing.rebook import is_credit, rebuild_booking  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.masterdata import load_master_data  # noqa: E402
from storage.objects import FilesystemObjectStore  # noqa: E402
from storage.scope import Scope  # noqa: E402
from storage.tables import (  # noqa: E402
    BookingRow,
    DocumentRow,
    ExtractionRow,
    LearnedRule,
    TaskRow,
)
from storage.tasks import HOLDING_KINDS, complete_task  # noqa: E402
from tests.docgen import (  # noqa: E402
    Company,
    Truth,
    random_client_company,
    random_company,
    supplier_invoice,
)

# The account the firm books each trade's invoices to (Swiss SME chart): the truth the
# corrections teach. Not what the words on an invoice suggest — a bookkeeper's choice.
TRUE_ACCOUNT = {
    "elektro": "6100",  # repairs and maintenance
    "informatik": "6570",  # IT
    "reinigung": "6040",  # cleaning
    "druckerei": "6600",  # advertising
    "transport": "4270",  # inbound freight
    "treuhand": "6530",  # accounting and advice
    "gartenbau": "6100",
    "versicherung": "6300",
}
STAFF = User(id=1, username="anna", client_id=None)
READING_FIELDS = ("invoice_number", "issue_date", "due_date", "currency", "total", "reference")


@dataclass
class Doc:
    id: int
    supplier_id: str
    truth: Truth
    phase: int


def firm(rng: random.Random, suppliers: int) -> tuple[dict[str, Any], Company, dict[str, Company]]:
    client = random_client_company(rng, language="de")
    trades = list(TRUE_ACCOUNT)[:suppliers]
    companies = {
        f"S{n:03d}": random_company(rng, "CH", kind=trade, language="de")
        for n, trade in enumerate(trades, start=1)
    }
    # Known suppliers, but no account: the first documents need a person.
    data = offline_firm(client, companies)
    return data, client, companies


def generate(
    rng: random.Random, client: Company, companies: dict[str, Company], n: int
) -> list[tuple[str, Any]]:
    """`n` invoices, the suppliers in turn."""
    ids = list(companies)
    out = []
    for i in range(n):
        supplier_id = ids[i % len(ids)]
        out.append(
            (
                supplier_id,
                supplier_invoice(
                    rng, supplier=companies[supplier_id], recipient=client, currency="CHF"
                ),
            )
        )
    return out


def process(runtime: Runtime, generated: list[tuple[str, Any]], phase: int) -> list[Doc]:
    docs = []
    for supplier_id, g in generated:
        recorded = intake(
            runtime.db,
            runtime.store,
            Submission(client_id="C01", channel=Channel.EMAIL, data=g.data, filename=g.filename),
            max_bytes=50 * 1024 * 1024,
        )
        process_one(recorded.document_id, step_runs=False)
        docs.append(Doc(recorded.document_id, supplier_id, g.truth, phase))
    return docs


def corrections_for(session: Any, doc: Doc, account: str) -> Corrections:
    """The truth, as a person would type it: only what differs, and the account."""
    document = session.get(DocumentRow, doc.id)
    stored = session.get(ExtractionRow, doc.id)
    read = stored.data if stored is not None else {}
    fields: dict[str, Any] = {"account": account}
    for name in READING_FIELDS:
        true = getattr(doc.truth, name)
        if true is None:
            continue
        if str(read.get(name)) != (true.isoformat() if isinstance(true, date) else str(true)):
            fields[name] = true
    if document.supplier_id != doc.supplier_id:
        fields["supplier_id"] = doc.supplier_id
    return Corrections(**fields)


def work_tasks(runtime: Runtime, docs: list[Doc], accounts: dict[str, str]) -> Counter[str]:
    """Staff work every open task of these documents with the true values."""
    done: Counter[str] = Counter()
    for doc in docs:
        with runtime.db.session() as session:
            tasks = session.scalars(
                select(TaskRow)
                .where(TaskRow.document_id == doc.id, TaskRow.status == "open")
                .order_by(TaskRow.id)
            ).all()
            corrected = False
            for task in tasks:
                fix = None
                if task.kind in HOLDING_KINDS and not corrected:
                    fix = corrections_for(session, doc, accounts[doc.supplier_id])
                    corrected = True
                complete_task(
                    session,
                    Scope.staff(),
                    task.id,
                    STAFF,
                    fix,
                    rebuild=rebuild_booking,
                    is_credit=is_credit,
                )
                done[task.kind] += 1
    return done


@dataclass
class Figures:
    docs: int
    straight: int
    tasks: Counter[str]
    posted: int
    wrong: int
    used_learned: int
    of_corrected: int

    @property
    def stp_pct(self) -> float:
        return 100 * self.straight / self.docs if self.docs else 0.0


def measure(
    runtime: Runtime,
    docs: list[Doc],
    accounts: dict[str, str],
    corrected: set[str],
    *,
    show: bool = False,
) -> Figures:
    """Straight-through, tasks, wrong postings; `show`: print each wrong posting and each
    task left (why a person is still needed)."""
    straight = posted = wrong = used = of_corrected = 0
    kinds: Counter[str] = Counter()
    with runtime.db.session() as session:
        for doc in docs:
            row = session.get(DocumentRow, doc.id)
            tasks = session.scalars(select(TaskRow).where(TaskRow.document_id == doc.id)).all()
            kinds.update(t.kind for t in tasks)
            for t in [t for t in tasks if show and t.status == "open"]:
                print(f"  task: document {doc.id} of {doc.supplier_id}: {t.reason}")
            booking = session.scalar(
                select(BookingRow).where(
                    BookingRow.document_id == doc.id, BookingRow.kind == "document"
                )
            )
            if booking is not None and booking.status == "posted":
                posted += 1
                straight += not tasks
                lines = [
                    BookingLine(
                        account=x.account, debit=x.debit, credit=x.credit, vat_code=x.vat_code
                    )
                    for x in booking.lines
                ]
                gross = sum((x.debit for x in lines), Decimal(0))
                if main_account(lines) != accounts[doc.supplier_id] or gross != abs(
                    doc.truth.total
                ):
                    wrong += 1
                    if show:
                        why = [r for r in row.routing["reasons"] if r.startswith("account")]
                        print(
                            f"  wrong: document {doc.id} of {doc.supplier_id} booked "
                            f"{main_account(lines)} {gross} ({'; '.join(why)})"
                        )
            if doc.supplier_id in corrected:
                of_corrected += 1
                reasons = (row.routing or {}).get("reasons", [])
                used += any("learned from correction" in r for r in reasons)
    return Figures(len(docs), straight, kinds, posted, wrong, used, of_corrected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=60, help="invoices per phase")
    parser.add_argument("--suppliers", type=int, default=6, choices=range(1, len(TRUE_ACCOUNT) + 1))
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(args.seed)
    data, client, companies = firm(rng, args.suppliers)
    accounts = {sid: TRUE_ACCOUNT[c.trade] for sid, c in companies.items()}
    before_docs = generate(rng, client, companies, args.docs)
    after_docs = generate(rng, client, companies, args.docs)

    with tempfile.TemporaryDirectory(prefix="fiduflow-learning-") as folder:
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
        first = process(runtime, before_docs, 1)
        before = measure(runtime, first, accounts, set())
        worked = work_tasks(runtime, first, accounts)
        with runtime.db.session() as session:
            corrected = set(session.scalars(select(LearnedRule.supplier_id)).all())
        first_after_work = measure(runtime, first, accounts, set(), show=True)
        second = process(runtime, after_docs, 2)
        after = measure(runtime, second, accounts, corrected, show=True)
        elapsed = time.perf_counter() - started
        runtime.db.dispose()
        set_runtime(None)

    print(
        f"learning from corrections: offline client, {args.suppliers} known suppliers "
        f"without accounts, {args.docs} invoices per phase (seed {args.seed}, {elapsed:.0f} s)"
    )
    for sid, c in companies.items():
        print(f"  {sid} {c.name:<40} {c.trade:<12} books to {accounts[sid]}")
    print(f"{'phase':<26}{'docs':>6}{'straight':>10}{'stp %':>8}{'posted':>8}{'wrong':>7}  tasks")
    for label, f in (("before corrections", before), ("after corrections", after)):
        tasks = ", ".join(f"{k} {n}" for k, n in sorted(f.tasks.items())) or "-"
        print(
            f"{label:<26}{f.docs:>6}{f.straight:>10}{f.stp_pct:>8.1f}{f.posted:>8}"
            f"{f.wrong:>7}  {tasks}"
        )
    print(f"tasks worked with the truth as corrections: {dict(worked)}")
    print(
        f"first phase once worked: {first_after_work.posted} posted, {first_after_work.wrong} wrong"
    )
    used_pct = 100 * after.used_learned / after.of_corrected if after.of_corrected else 0.0
    print(
        f"next documents of the {len(corrected)} corrected suppliers booked with what was "
        f"learned: {after.used_learned} of {after.of_corrected} ({used_pct:.1f} %)"
    )
    posted = first_after_work.posted + after.posted
    wrong = first_after_work.wrong + after.wrong
    wrong_pct = 100 * wrong / posted if posted else 0.0
    print(
        f"before_stp_pct={before.stp_pct:.1f} after_stp_pct={after.stp_pct:.1f} "
        f"used_learned_pct={used_pct:.1f} wrong_pct={wrong_pct:.2f} wrong={wrong} "
        f"posted={posted} docs={before.docs + after.docs}"
    )


if __name__ == "__main__":
    main()
