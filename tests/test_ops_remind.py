"""`remind-missing`: overdue client tasks get a reminder (online) or go to the fiduciary
(offline); requested documents not received by their due date are booked without them.
Running it twice on the same day changes nothing more."""

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain.enums import Party, TaskKind
from domain.records import TaskDraft
from flows.remind_missing import REMIND_EVERY_DAYS, remind_missing
from storage.tables import TaskRow
from storage.tasks import create_task, mark_done
from tests.test_ops_support import flow_run_artifacts, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]

TODAY = date(2026, 3, 10)


def _task(session, client_id, kind, assignee, due, key) -> int:
    row, _ = create_task(
        session,
        client_id,
        TaskDraft(kind=kind, assignee=assignee, reason=f"{kind.value} for test", due_date=due),
        dedupe_key=key,
    )
    session.flush()
    return row.id


def _snapshot(runtime):
    with runtime.db.session() as s:
        return {
            t.id: (t.assignee, t.status, t.reason, t.reminded_at, dict(t.details or {}))
            for t in s.scalars(select(TaskRow))
        }


def test_reminders_and_handovers(prefect_harness, runtime, load_firm):
    load_firm()
    past, future = TODAY - timedelta(days=5), TODAY + timedelta(days=30)
    with runtime.db.session() as s:
        release = _task(s, "C01", TaskKind.RELEASE_INVOICE, Party.CLIENT, past, "t:release")
        not_due = _task(s, "C01", TaskKind.APPROVE_EXPENSE, Party.CLIENT, future, "t:notdue")
        due_today = _task(s, "C01", TaskKind.APPROVE_EXPENSE, Party.CLIENT, TODAY, "t:today")
        offline = _task(s, "C02", TaskKind.APPROVE_EXPENSE, Party.CLIENT, past, "t:offline")
        missing_online = _task(
            s, "C01", TaskKind.MISSING_DOCUMENT, Party.CLIENT, past, "t:missing-online"
        )
        missing_offline = _task(
            s, "C02", TaskKind.MISSING_DOCUMENT, Party.FIDUCIARY, past, "t:missing-offline"
        )
        review = _task(s, "C01", TaskKind.REVIEW_DOCUMENT, Party.FIDUCIARY, past, "t:review")
        done = _task(s, "C01", TaskKind.RELEASE_INVOICE, Party.CLIENT, past, "t:done")
        mark_done(s, s.get(TaskRow, done), "hans")
    before = _snapshot(runtime)

    state = asyncio.run(remind_missing(today=TODAY, return_state=True))
    report = state.result()

    assert report.reminded == [release]
    assert report.moved_offline == [offline]
    assert sorted(report.book_without_document) == sorted([missing_online, missing_offline])
    assert report.overdue_fiduciary == [review]
    after = _snapshot(runtime)
    for untouched in (not_due, due_today, done, review):
        assert after[untouched] == before[untouched]
    assert after[release][0] == "client" and after[release][3] is not None
    assert after[release][4]["reminders"] == 1
    assert after[offline][0] == "fiduciary"
    assert after[offline][4]["escalation"]["action"] == "offline_client"
    for missing in (missing_online, missing_offline):
        assignee, status, reason, _, details = after[missing]
        assert (assignee, status) == ("fiduciary", "open")
        assert details["escalation"]["action"] == "book_without_document"
        assert "book the transaction without it" in reason

    artifacts = wait_for(lambda: flow_run_artifacts(state.state_details.flow_run_id))
    assert artifacts[0].key == "remind-missing"
    assert "reminders to online clients: **1**" in artifacts[0].data

    # The same day again: nothing changes.
    asyncio.run(remind_missing(today=TODAY))
    assert _snapshot(runtime) == after

    # A week later: a second reminder, and a first for the task due today.
    later = asyncio.run(remind_missing(today=TODAY + timedelta(days=REMIND_EVERY_DAYS)))
    assert later.reminded == [release, due_today] and not later.moved_offline
    assert _snapshot(runtime)[release][4]["reminders"] == 2
