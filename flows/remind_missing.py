"""`remind-missing` (daily): what happens to open tasks whose due date has passed.

Prefect's e-mail and webhook actions exist only in Prefect Cloud, so reminders are ours:
a reminder is recorded on the task itself (`reminded_at`, `details.reminders`), which is
what the client sees in its task list (API and web pages). The rules, for every open task
with a due date before today (Europe/Zurich):

1. A **requested document** (`missing_document`) still not there: after the due date the
   fiduciary books without it (DOMAIN.md, "Missing documents"). The task moves to the
   fiduciary with that instruction, whoever held it.
2. A task assigned to an **offline client**: offline clients cannot act (the policy
   changed since it was created). It moves to the fiduciary's list.
3. A task assigned to an **online client**: it gets a reminder — the first the day after
   it fell due, then one every `REMIND_EVERY_DAYS` days while it stays open. The reminder
   also reaches the client by mail: to the user the task is addressed to
   (`assignee_user`), else to each of the client's company users who can see it, if they
   have an `email` (in their language). The mails are queued in the same transaction,
   once per task, reminder date and user (`reminder:<task>:<date>:<user>`), and sent at
   the end of the run (flows/notify.py; no relay: logged).

Tasks of the fiduciary are left alone (they are on the fiduciary's list already) and are
counted as overdue in the artifact. Idempotent: a second run on the same day changes
nothing (escalations are marked in `details.escalation`, reminders are dated).
"""

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from domain.enums import MailKind, Party, TaskKind
from domain.mails import TaskLine, compose_reminder, pick_language
from domain.records import Client
from flows.artifacts import run_name_of
from flows.notify import send_outbox
from flows.pipeline import run_logger
from flows.runtime import get_runtime
from storage.masterdata import get_client
from storage.outbox import queue_mail
from storage.reminders import overdue_open_tasks, reminder_recipients
from storage.tables import DocumentRow, Fiduciary, TaskRow, utcnow

ZURICH = ZoneInfo("Europe/Zurich")
REMIND_EVERY_DAYS = 7


class ReminderReport(BaseModel):
    today: date
    reminded: list[int] = Field(default_factory=list)  # task ids
    moved_offline: list[int] = Field(default_factory=list)
    book_without_document: list[int] = Field(default_factory=list)
    overdue_fiduciary: list[int] = Field(default_factory=list)
    mails: int = 0  # reminder mails queued by this run
    per_client: dict[str, dict[str, int]] = Field(default_factory=dict)

    def count(self, client_id: str, what: str) -> None:
        counts = self.per_client.setdefault(client_id, {})
        counts[what] = counts.get(what, 0) + 1


def today_in_zurich() -> date:
    return datetime.now(ZURICH).date()


def apply_reminders(session: Session, today: date) -> ReminderReport:
    """The rules above, in one transaction."""
    report = ReminderReport(today=today)
    clients: dict[str, Client | None] = {}
    for task in overdue_open_tasks(session, today):
        if task.client_id not in clients:
            clients[task.client_id] = get_client(session, task.client_id)
        client = clients[task.client_id]
        details = dict(task.details or {})
        if task.kind == TaskKind.MISSING_DOCUMENT.value:
            if "escalation" not in details:
                _escalate(
                    task,
                    details,
                    today,
                    "book_without_document",
                    f"No document received by {task.due_date:%d.%m.%Y}: book the transaction "
                    "without it.",
                )
                report.book_without_document.append(task.id)
                report.count(task.client_id, "book without document")
            continue
        if task.assignee == Party.CLIENT.value:
            if client is None or not client.online:
                _escalate(
                    task,
                    details,
                    today,
                    "offline_client",
                    "Overdue, and the client works offline (cannot act): for the fiduciary.",
                )
                report.moved_offline.append(task.id)
                report.count(task.client_id, "moved to fiduciary")
            elif _reminder_due(task, today):
                details["reminders"] = int(details.get("reminders", 0)) + 1
                details["last_reminder"] = today.isoformat()
                task.details = details
                task.reminded_at = utcnow()
                report.reminded.append(task.id)
                report.count(task.client_id, "reminded")
            continue
        report.overdue_fiduciary.append(task.id)
        report.count(task.client_id, "overdue for fiduciary")
    return report


def reminder_key(task_id: int, today: date, username: str) -> str:
    return f"reminder:{task_id}:{today.isoformat()}:{username}"


def queue_reminder_mails(session: Session, report: ReminderReport, public_url: str | None) -> int:
    """A mail for each reminder of this run (see the module); how many were queued."""
    firm = session.get(Fiduciary, 1)
    firm_name = firm.name if firm else "fiduflow"
    queued = 0
    for task_id in report.reminded:
        task = session.get(TaskRow, task_id)
        if task is None or task.due_date is None:
            continue
        client = get_client(session, task.client_id)
        document = session.get(DocumentRow, task.document_id) if task.document_id else None
        line = TaskLine(task_id=task.id, kind=task.kind, reason=task.reason, due_date=task.due_date)
        for row in reminder_recipients(session, task, document):
            assert row.email is not None  # reminder_recipients takes users with one
            subject, body = compose_reminder(
                language=pick_language(row.language, client.language if client else None),
                name=row.username,
                client_name=client.name if client else task.client_id,
                firm_name=firm_name,
                task=line,
                today=report.today,
                public_url=public_url,
            )
            queue_mail(
                session,
                kind=MailKind.REMINDER,
                recipient=row.email,
                subject=subject,
                body=body,
                dedupe_key=reminder_key(task.id, report.today, row.username),
                client_id=task.client_id,
                task_id=task.id,
            )
            queued += 1
    report.mails += queued
    return queued


def _reminder_due(task: TaskRow, today: date) -> bool:
    last = (task.details or {}).get("last_reminder")
    if last is None:
        return True
    return today - date.fromisoformat(last) >= timedelta(days=REMIND_EVERY_DAYS)


def _escalate(task: TaskRow, details: dict[str, Any], today: date, action: str, why: str) -> None:
    details["escalation"] = {
        "action": action,
        "on": today.isoformat(),
        "from": task.assignee,
        "reason_before": task.reason,
    }
    task.details = details
    task.assignee = Party.FIDUCIARY.value
    task.reason = why


def report_markdown(report: ReminderReport) -> str:
    lines = [
        f"# Overdue tasks on {report.today:%d.%m.%Y}",
        "",
        f"- reminders to online clients: **{len(report.reminded)}** "
        f"({report.mails} mails to their users)",
        f"- moved to the fiduciary (offline client): **{len(report.moved_offline)}**",
        f"- requested documents not received, book without them: "
        f"**{len(report.book_without_document)}**",
        f"- overdue on the fiduciary's list: **{len(report.overdue_fiduciary)}**",
    ]
    if report.per_client:
        lines += ["", "| client | what | tasks |", "|---|---|---:|"]
        for client_id, counts in sorted(report.per_client.items()):
            for what, n in sorted(counts.items()):
                lines.append(f"| {client_id} | {what} | {n} |")
    return "\n".join(lines)


@flow(name="remind-missing", flow_run_name=run_name_of("remind", "today"))
async def remind_missing(today: date | None = None) -> ReminderReport:
    """Remind clients of overdue tasks; hand what they cannot or did not do to the
    fiduciary. `today` defaults to today in Europe/Zurich (set it to replay a day)."""
    day = today or today_in_zurich()
    runtime = get_runtime()
    with runtime.db.session() as session:
        report = apply_reminders(session, day)
        queue_reminder_mails(session, report, runtime.settings.public_url)
    # Sent now, not a minute later by send-outbox; a relay that is down loses nothing.
    send_outbox(runtime.db, runtime.settings, logger=run_logger())
    kinds = Counter(
        {
            "reminded": len(report.reminded),
            "moved to the fiduciary": len(report.moved_offline),
            "to book without document": len(report.book_without_document),
            "overdue for the fiduciary": len(report.overdue_fiduciary),
        }
    )
    run_logger().info(
        "remind-missing %s: %s",
        day.isoformat(),
        ", ".join(f"{n} {what}" for what, n in kinds.items()),
    )
    await acreate_markdown_artifact(
        markdown=report_markdown(report),
        key="remind-missing",
        description=f"Overdue tasks on {day.isoformat()}",
    )
    return report
