"""`close-period` (monthly, and on demand): what still blocks closing a client's month.

For each client (or the one asked for) and the period (`YYYY-MM`, default: the previous
month in Europe/Zurich) four checks, as DOMAIN.md's period close asks — nothing escalated
or pending older than the period end:

| item | what is counted |
|---|---|
| `unprocessed` | documents received up to the period end, still received/processing/failed |
| `open_tasks` | open tasks created up to the period end (besides the two items below) |
| `drafts` | draft bookings dated up to the period end (not released by the client) |
| `duplicates` | open suspected-duplicate tasks created up to the period end |

Each finding is given to the party the client's division-of-labour policy names for its
activity in the phase *period close* (an online client releases its own invoices and
expenses; everything else, and everything of an offline client, is the fiduciary's).
Per client, item and party there is one `period_close` task, dedupe key
`close:<client>:<period>:<item>:<party>` — re-running creates nothing new; it refreshes
the open task's counts and completes it once the item is clear. Each client gets a
markdown checklist artifact (`close-<client>-<period>`): ids and counts only, no
amounts and no document content.
"""

import re
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from domain.enums import Activity, DocType, Party, Phase, TaskKind, TaskStatus
from domain.policy import activity_for
from domain.records import Client, TaskDraft
from flows.artifacts import artifact_key, run_name_of
from flows.pipeline import run_logger
from flows.runtime import get_runtime
from storage import period_close
from storage.masterdata import get_client, list_clients
from storage.tasks import create_task, mark_done

ZURICH = ZoneInfo("Europe/Zurich")
DUE_AFTER_PERIOD_DAYS = 20  # a close task is due 20 days after the period end

ITEMS = {
    "unprocessed": "Documents still unprocessed",
    "open_tasks": "Open tasks older than the period end",
    "drafts": "Drafts not released",
    "duplicates": "Suspected duplicates",
}
_TASK_ACTIVITY = {
    TaskKind.RELEASE_INVOICE.value: Activity.SUPPLIER_INVOICE,
    TaskKind.APPROVE_EXPENSE.value: Activity.EXPENSE_RECEIPT,
}
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class Period(BaseModel):
    name: str  # YYYY-MM
    first: date
    last: date

    @classmethod
    def parse(cls, text: str) -> "Period":
        match = _PERIOD.match(text.strip())
        if not match:
            raise ValueError(f"period {text!r} is not YYYY-MM (e.g. 2026-01)")
        first = date(int(match[1]), int(match[2]), 1)
        following = (first + timedelta(days=32)).replace(day=1)
        return cls(name=text.strip(), first=first, last=following - timedelta(days=1))

    @classmethod
    def previous_month(cls, today: date) -> "Period":
        last = today.replace(day=1) - timedelta(days=1)
        return cls.parse(f"{last:%Y-%m}")

    @property
    def end_utc(self) -> datetime:
        """The first instant after the period, Zurich time, in UTC."""
        after = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=ZURICH)
        return after.astimezone(UTC)


class Finding(BaseModel):
    item: str
    party: Party
    document_ids: list[int] = Field(default_factory=list)
    task_ids: list[int] = Field(default_factory=list)
    booking_ids: list[int] = Field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.document_ids) + len(self.task_ids) + len(self.booking_ids)


class ClientChecklist(BaseModel):
    client_id: str
    client_name: str
    mode: str
    period: str
    findings: list[Finding] = Field(default_factory=list)
    task_ids: dict[str, int] = Field(default_factory=dict)  # "<item>:<party>" -> task id
    created: list[int] = Field(default_factory=list)
    completed: list[int] = Field(default_factory=list)

    @property
    def clear(self) -> bool:
        return not self.findings


def _doc_activity(doc_type: str | None) -> Activity:
    if doc_type is None:
        return Activity.OTHER
    try:
        return activity_for(DocType(doc_type))
    except ValueError:
        return Activity.OTHER


def find_blockers(session: Session, client: Client, period: Period) -> list[Finding]:
    """What blocks the period close for one client, grouped by item and responsible party."""
    end = period.end_utc
    policy = client.policy
    grouped: dict[tuple[str, Party], Finding] = {}

    def add(
        item: str,
        activity: Activity,
        *,
        document: int | None = None,
        task: int | None = None,
        booking: int | None = None,
    ) -> None:
        party = policy.responsible(activity, Phase.PERIOD_CLOSE)
        finding = grouped.setdefault((item, party), Finding(item=item, party=party))
        if document is not None:
            finding.document_ids.append(document)
        if task is not None:
            finding.task_ids.append(task)
        if booking is not None:
            finding.booking_ids.append(booking)

    for document_id, doc_type in period_close.unprocessed_documents(session, client.id, end):
        add("unprocessed", _doc_activity(doc_type), document=document_id)

    for task_id, kind, doc_type in period_close.open_tasks_created_before(session, client.id, end):
        activity = _TASK_ACTIVITY.get(kind) or _doc_activity(doc_type)
        item = "duplicates" if kind == TaskKind.SUSPECTED_DUPLICATE.value else "open_tasks"
        add(item, activity, task=task_id)

    for booking_id, doc_type in period_close.drafts_dated_until(session, client.id, period.last):
        add("drafts", _doc_activity(doc_type), booking=booking_id)

    order = list(ITEMS)
    return sorted(grouped.values(), key=lambda f: (order.index(f.item), f.party.value))


def _reason(period: Period, finding: Finding) -> str:
    what = {
        "unprocessed": f"{finding.count} document(s) not yet processed",
        "open_tasks": f"{finding.count} open task(s) from before the period end",
        "drafts": f"{finding.count} draft booking(s) not released",
        "duplicates": f"{finding.count} suspected duplicate(s) to decide",
    }[finding.item]
    return f"Period close {period.name}: {what}."


def close_client(session: Session, client: Client, period: Period) -> ClientChecklist:
    """The checklist of one client, with its tasks created, refreshed or completed."""
    findings = find_blockers(session, client, period)
    checklist = ClientChecklist(
        client_id=client.id,
        client_name=client.name,
        mode=client.mode.value,
        period=period.name,
        findings=findings,
    )
    prefix = f"close:{client.id}:{period.name}:"
    due = period.last + timedelta(days=DUE_AFTER_PERIOD_DAYS)
    wanted = set()
    for finding in findings:
        key = f"{prefix}{finding.item}:{finding.party.value}"
        wanted.add(key)
        details = {
            "period": period.name,
            "item": finding.item,
            "document_ids": finding.document_ids,
            "task_ids": finding.task_ids,
            "booking_ids": finding.booking_ids,
        }
        row, created = create_task(
            session,
            client.id,
            TaskDraft(
                kind=TaskKind.PERIOD_CLOSE,
                assignee=finding.party,
                reason=_reason(period, finding),
                due_date=due,
                details=details,
            ),
            dedupe_key=key,
        )
        if created:
            checklist.created.append(row.id)
        elif row.status == TaskStatus.OPEN.value and row.details != details:
            row.details = details
            row.reason = _reason(period, finding)
        checklist.task_ids[f"{finding.item}:{finding.party.value}"] = row.id
    # Items cleared since the last run: their open close tasks are done.
    for row in period_close.open_close_tasks(session, client.id, prefix):
        if row.dedupe_key not in wanted:
            mark_done(session, row, "fiduflow")
            checklist.completed.append(row.id)
    session.flush()
    return checklist


def checklist_markdown(checklist: ClientChecklist) -> str:
    lines = [
        f"# Period close {checklist.period}: {checklist.client_id} {checklist.client_name}",
        "",
        f"Client works **{checklist.mode}**. Responsible party per item from the client's "
        "division of labour (phase: period close).",
        "",
    ]
    by_item: dict[str, list[Finding]] = defaultdict(list)
    for finding in checklist.findings:
        by_item[finding.item].append(finding)
    for item, title in ITEMS.items():
        findings = by_item.get(item, [])
        if not findings:
            lines.append(f"- [x] {title}: none")
            continue
        for finding in findings:
            task_id = checklist.task_ids.get(f"{item}:{finding.party.value}")
            refs = _refs(finding)
            lines.append(
                f"- [ ] {title}: **{finding.count}** — {finding.party.value}"
                f" (task #{task_id}) — {refs}"
            )
    if checklist.completed:
        lines += ["", f"Cleared since the last run: tasks {_join(checklist.completed)}."]
    return "\n".join(lines)


def _refs(finding: Finding) -> str:
    parts = []
    if finding.document_ids:
        parts.append(f"documents {_join(finding.document_ids)}")
    if finding.task_ids:
        parts.append(f"tasks {_join(finding.task_ids)}")
    if finding.booking_ids:
        parts.append(f"bookings {_join(finding.booking_ids)}")
    return "; ".join(parts)


def _join(ids: list[int], limit: int = 25) -> str:
    shown = ", ".join(str(i) for i in ids[:limit])
    return shown + (f", … ({len(ids) - limit} more)" if len(ids) > limit else "")


@flow(name="close-period", flow_run_name=run_name_of("close", "client", "period"))
async def close_period(
    client: str | None = None, period: str | None = None
) -> list[ClientChecklist]:
    """Check what blocks closing `period` (YYYY-MM; default the previous month) for
    `client` (default: every client): a checklist artifact and tasks per client."""
    chosen = Period.parse(period) if period else Period.previous_month(datetime.now(ZURICH).date())
    logger = run_logger()
    checklists: list[ClientChecklist] = []
    db = get_runtime().db
    with db.session() as session:
        if client is not None:
            found = get_client(session, client)
            if found is None:
                raise ValueError(f"unknown client {client!r}")
            clients = [found]
        else:
            clients = list_clients(session)
    failed: list[str] = []
    for each in clients:
        # One transaction per client: one client's failure never rolls back the others'.
        try:
            with db.session() as session:
                checklists.append(close_client(session, each, chosen))
        except Exception:
            logger.exception("close-period %s, client %s: failed", chosen.name, each.id)
            failed.append(each.id)
    for checklist in checklists:
        open_items = sum(f.count for f in checklist.findings)
        logger.info(
            "close-period %s, client %s: %s open item(s), %s new task(s)",
            chosen.name,
            checklist.client_id,
            open_items,
            len(checklist.created),
        )
        await acreate_markdown_artifact(
            markdown=checklist_markdown(checklist),
            key=artifact_key("close", checklist.client_id, chosen.name),
            description=f"Period close {chosen.name} for client {checklist.client_id}",
        )
    if failed:
        raise RuntimeError(
            f"close-period {chosen.name} failed for client(s) {', '.join(failed)} (the run's "
            f"log says why); the {len(checklists)} other client(s) are closed"
        )
    return checklists
