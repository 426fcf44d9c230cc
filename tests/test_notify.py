"""Outbound mail through a relay: the outbox sends each mail at most once, a relay that is
down loses nothing, no relay means logged-not-sent; the daily digest and remind-missing's
reminder mails reach the right users once a day, in their language, with links.

The relay is a local aiosmtpd sink on a free loopback port, started by the test."""

import asyncio
import copy
import email
import email.policy
import logging
import socket
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

import storage.outbox as outbox
from domain.enums import MailKind, OutboxState, Party, TaskKind
from domain.mails import TaskLine, compose_request, digest_order
from domain.masterdata import MasterData
from domain.records import TaskDraft
from domain.settings import Settings
from flows.notify import queue_digests, send_outbox
from flows.status import collect_status
from storage.masterdata import get_client, load_master_data
from storage.tables import ClientRow, OutboxMail, utcnow
from storage.tasks import create_task, mark_done
from tests.factories import master_data

pytestmark = pytest.mark.smtp

TODAY = date(2026, 3, 10)
PUBLIC = "https://fidu.example"


# --- the relay -------------------------------------------------------------------------


class Sink:
    """Collects what the relay accepted. `rcpt_answers` answers chosen recipients with an
    SMTP reply instead; `drop_in_data` breaks the connection while the message arrives."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_answers: dict[str, str] = {}
        self.drop_in_data = False
        self.refuse_sender = False

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse_sender:
            return "550 5.7.1 Sender not allowed"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_answers:
            return self.rcpt_answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_in_data:
            server.transport.abort()  # the data went out; its answer never comes
            return "250 OK"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.received.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(port: int) -> tuple[Sink, Controller]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return sink, controller


@pytest.fixture
def relay() -> Iterator[tuple[Sink, int]]:
    port = free_port()
    sink, controller = start_sink(port)
    yield sink, port
    controller.stop()


def with_relay(settings: Settings, port: int, **more: Any) -> Settings:
    return settings.model_copy(
        update={"mail_relay_host": "127.0.0.1", "mail_relay_port": port, **more}
    )


# --- the firm --------------------------------------------------------------------------


def firm_data() -> dict[str, Any]:
    """The test firm, with mail addresses and languages: hans (company, German), marie
    (company, French), lea (employee), and an offline client with a contact address."""
    data = master_data()
    clients = copy.deepcopy(data["clients"])
    c01, c02 = clients
    c01["language"] = "de"
    c01["users"] = [
        {**c01["users"][0], "email": "hans@muster.example", "language": "de"},
        {
            "username": "marie",
            "access": "company",
            "email": "marie@muster.example",
            "language": "fr",
        },
        {**c01["users"][1], "email": "lea@muster.example"},
        {"username": "otto", "access": "company"},  # no email: no mail
    ]
    c02["contact"] = {"email": "Buchhaltung@Brot.example"}
    c02["language"] = "it"
    c02["users"] = [{**c02["users"][0], "email": "fritz@brot.example"}]
    return {**data, "clients": clients}


@pytest.fixture
def firm(db) -> None:
    with db.session() as session:
        load_master_data(session, MasterData.model_validate(firm_data()))


def add_task(db, client_id: str, kind: TaskKind, due: date | None, key: str, **more: Any) -> int:
    assignee = more.pop("assignee", Party.CLIENT)
    with db.session() as session:
        row, _ = create_task(
            session,
            client_id,
            TaskDraft(
                kind=kind, assignee=assignee, reason=f"{kind.value} {key}", due_date=due, **more
            ),
            dedupe_key=key,
        )
        session.flush()
        return row.id


def mails(db) -> list[OutboxMail]:
    with db.session() as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def by_recipient(sink: Sink) -> dict[str, email.message.EmailMessage]:
    return {str(m["To"]): m for m in sink.received}


# --- master data -----------------------------------------------------------------------


def test_master_data_keeps_contact_and_language(db, firm):
    with db.session() as session:
        offline = session.get(ClientRow, "C02")
        assert (offline.contact_email, offline.language) == ("buchhaltung@brot.example", "it")
        assert get_client(session, "C02").contact_email == "buchhaltung@brot.example"
        assert session.get(ClientRow, "C01").contact_email is None
    with pytest.raises(ValidationError, match="email"):
        MasterData.model_validate(
            {**firm_data(), "clients": [{**firm_data()["clients"][1], "contact": {"email": "x"}}]}
        )
    with pytest.raises(ValidationError, match="language"):
        MasterData.model_validate(
            {**firm_data(), "clients": [{**firm_data()["clients"][1], "language": "es"}]}
        )


def test_fiduflow_settings_lists_the_relay_without_its_password(monkeypatch):
    from rich.console import Console
    from typer.testing import CliRunner

    from flows.cli import app as cli

    monkeypatch.setenv("FIDUFLOW_MAIL_RELAY_HOST", "relay.example")
    monkeypatch.setenv("FIDUFLOW_MAIL_RELAY_USER", "fidu")
    monkeypatch.setenv("FIDUFLOW_MAIL_RELAY_PASSWORD", "relay-pw-topsecret")
    # The table's width comes from the console made at import: wide, whatever the terminal.
    monkeypatch.setattr("flows.cli.out", Console(width=300))
    result = CliRunner().invoke(cli, ["settings"])
    assert result.exit_code == 0, result.output
    for name in ("HOST", "PORT", "USER", "PASSWORD", "TLS"):
        assert f"FIDUFLOW_MAIL_RELAY_{name}" in result.output
    assert "FIDUFLOW_MAIL_FROM" in result.output and "relay.example" in result.output
    assert "relay-pw-topsecret" not in result.output


def test_relay_settings_refuse_a_password_in_clear():
    with pytest.raises(ValidationError, match="in clear"):
        Settings(
            mail_relay_host="relay",
            mail_relay_user="u",
            mail_relay_password="p",
            mail_relay_tls="none",
        )
    with pytest.raises(ValidationError, match="go together"):
        Settings(mail_relay_host="relay", mail_relay_user="u")
    assert Settings().mail_relay_host is None  # default: nothing is sent


# --- the outbox ------------------------------------------------------------------------


def test_queue_mail_is_idempotent_and_fixes_the_message_id(db, firm):
    with db.session() as session:
        first = outbox.queue_mail(
            session,
            kind=MailKind.REQUEST,
            recipient="buchhaltung@brot.example",
            subject="Frage\r\nBcc: evil@example",
            body="Bitte Beleg senden.",
            dedupe_key="request:1",
            client_id="C02",
            task_id=1,
        )
        again = outbox.queue_mail(
            session,
            kind=MailKind.REQUEST,
            recipient="other@brot.example",
            subject="x",
            body="y",
            dedupe_key="request:1",
        )
        assert again.id == first.id and again.recipient == "buchhaltung@brot.example"
        assert first.state == OutboxState.QUEUED
        assert first.subject == "Frage Bcc: evil@example"  # one header line, no injection
        assert first.message_id.startswith("<") and first.message_id.endswith(
            "@in.treuhand.example>"
        )
        with pytest.raises(ValueError, match="one mail address"):
            outbox.queue_mail(
                session,
                kind=MailKind.REQUEST,
                recipient="a@x, b@y",
                subject="s",
                body="b",
                dedupe_key="request:2",
            )
    assert len(mails(db)) == 1


def test_sent_with_the_recorded_message_id_and_reply_to_the_inbound_address(
    db, firm, settings, relay
):
    sink, port = relay
    subject, body = compose_request(
        language="it",
        client_name="Bäckerei Brot GmbH",
        firm_name="Treuhand Muster AG",
        message="Manca la fattura di febbraio.",
        due_date=date(2026, 3, 31),
    )
    with db.session() as session:
        queued = outbox.queue_mail(
            session,
            kind=MailKind.REQUEST,
            recipient="buchhaltung@brot.example",
            subject=subject,
            body=body,
            dedupe_key="request:9",
            client_id="C02",
            task_id=9,
        )
        message_id = queued.message_id
    report = send_outbox(db, with_relay(settings, port))
    assert report.sent == [queued.id] and not report.retry
    [message] = sink.received
    assert message["Message-ID"] == message_id
    assert message["Reply-To"] == "brot-a81c2e@in.treuhand.example"
    assert message["From"] == "Treuhand Muster AG <noreply@in.treuhand.example>"
    assert message["Subject"] == "Richiesta di Treuhand Muster AG per Bäckerei Brot GmbH"
    assert "Manca la fattura di febbraio." in message.get_content()
    assert "31.03.2026" in message.get_content()
    assert sink.envelopes == [("noreply@in.treuhand.example", ["buchhaltung@brot.example"])]
    [row] = mails(db)
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None
    # Sent is sent: another run hands nothing over.
    assert send_outbox(db, with_relay(settings, port)).sent == []
    assert len(sink.received) == 1


def test_crash_between_the_relays_answer_and_recording_sends_once(
    db, firm, settings, relay, monkeypatch, caplog, runtime
):
    sink, port = relay
    with db.session() as session:
        mail = outbox.queue_mail(
            session,
            kind=MailKind.REMINDER,
            recipient="hans@muster.example",
            subject="Erinnerung",
            body="…",
            dedupe_key="reminder:crash",
        )

    def crash(session, mail_id):
        raise RuntimeError("the process dies here")

    monkeypatch.setattr(outbox, "mark_sent", crash)
    with pytest.raises(RuntimeError, match="dies here"):
        send_outbox(db, with_relay(settings, port))
    monkeypatch.undo()
    assert len(sink.received) == 1  # the relay has it
    [row] = mails(db)
    assert row.state == OutboxState.SENDING  # not recorded as sent …

    report = send_outbox(db, with_relay(settings, port))  # … and never handed over again
    assert report.sent == [] and len(sink.received) == 1
    assert mails(db)[0].state == OutboxState.SENDING

    # Once it is clearly not on its way any more, operators are told which one it is.
    with db.session() as session:
        later = utcnow() + outbox.STUCK_AFTER + timedelta(seconds=1)
        assert [m.id for m in outbox.stuck_sending(session, now=later)] == [mail.id]
        session.get(OutboxMail, mail.id).sent_at = utcnow() - outbox.STUCK_AFTER * 2
    with caplog.at_level(logging.WARNING, logger="fiduflow.notify"):
        report = send_outbox(db, with_relay(settings, port))
    assert [m.message_id for m in report.stuck] == [row.message_id]
    assert row.message_id in caplog.text and "never recorded as sent" in caplog.text
    assert len(sink.received) == 1
    # `fiduflow status` shows it too.
    status = collect_status(runtime, api_url=None)
    assert status["outbox"]["states"] == {"sending": 1}
    assert [m["message_id"] for m in status["outbox"]["stuck"]] == [row.message_id]


def test_a_connection_lost_while_handing_over_is_never_retried(db, firm, settings, relay):
    sink, port = relay
    sink.drop_in_data = True
    with db.session() as session:
        outbox.queue_mail(
            session,
            kind=MailKind.DIGEST,
            recipient="hans@muster.example",
            subject="s",
            body="b",
            dedupe_key="digest:lost",
        )
    report = send_outbox(db, with_relay(settings, port))
    assert len(report.uncertain) == 1 and not report.retry
    sink.drop_in_data = False
    assert send_outbox(db, with_relay(settings, port)).sent == []
    [row] = mails(db)
    assert row.state == OutboxState.SENDING and "connection lost" in row.last_error
    assert sink.received == []


def test_a_relay_that_is_down_loses_nothing(db, firm, settings):
    port = free_port()  # nothing listens there yet
    with db.session() as session:
        for n in range(3):
            outbox.queue_mail(
                session,
                kind=MailKind.DIGEST,
                recipient=f"u{n}@muster.example",
                subject=f"s{n}",
                body="b",
                dedupe_key=f"digest:down:{n}",
            )
    report = send_outbox(db, with_relay(settings, port))
    assert report.relay_down and report.sent == []
    rows = mails(db)
    assert [r.state for r in rows] == ["queued"] * 3
    # The run stopped at the first refusal: the others were not even tried.
    assert [r.attempts for r in rows] == [1, 0, 0]
    assert "unreachable" in rows[0].last_error

    sink, controller = start_sink(port)
    try:
        report = send_outbox(db, with_relay(settings, port))
    finally:
        controller.stop()
    assert len(report.sent) == 3 and report.relay_down is None
    assert sorted(str(m["To"]) for m in sink.received) == [
        "u0@muster.example",
        "u1@muster.example",
        "u2@muster.example",
    ]
    assert [r.message_id for r in mails(db)] == [r.message_id for r in rows]
    assert {m["Message-ID"] for m in sink.received} == {r.message_id for r in rows}


def test_refusals_for_now_and_for_good(db, firm, settings, relay):
    sink, port = relay
    sink.rcpt_answers = {
        "full@muster.example": "452 Mailbox full, try later",
        "gone@muster.example": "550 No such user",
    }
    with db.session() as session:
        for who in ("full", "gone", "hans"):
            outbox.queue_mail(
                session,
                kind=MailKind.DIGEST,
                recipient=f"{who}@muster.example",
                subject="s",
                body="b",
                dedupe_key=f"digest:{who}",
            )
    report = send_outbox(db, with_relay(settings, port))
    states = {r.recipient: (r.state, r.last_error) for r in mails(db)}
    assert states["full@muster.example"][0] == "queued"
    assert "452" in states["full@muster.example"][1]
    assert states["gone@muster.example"][0] == "failed"
    assert "550" in states["gone@muster.example"][1]
    assert states["hans@muster.example"] == ("sent", None)
    assert len(report.retry) == 1 and len(report.failed) == 1
    assert [str(m["To"]) for m in sink.received] == ["hans@muster.example"]

    sink.rcpt_answers = {}
    send_outbox(db, with_relay(settings, port))  # the full mailbox is tried again
    assert sorted(str(m["To"]) for m in sink.received) == [
        "full@muster.example",
        "hans@muster.example",
    ]


def test_no_relay_configured_logs_what_would_have_been_sent(db, firm, settings, caplog):
    with db.session() as session:
        mail = outbox.queue_mail(
            session,
            kind=MailKind.REQUEST,
            recipient="buchhaltung@brot.example",
            subject="Fehlender Beleg",
            body="GEHEIMER-INHALT der Anfrage",
            dedupe_key="request:log",
        )
    assert settings.mail_relay_host is None
    with caplog.at_level(logging.INFO, logger="fiduflow.notify"):
        report = send_outbox(db, settings)
    assert report.logged == [mail.id]
    [row] = mails(db)
    assert row.state == OutboxState.LOGGED and row.attempts == 1
    [line] = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert "buchhaltung@brot.example" in line and "Fehlender Beleg" in line
    assert row.message_id in line
    assert "GEHEIMER-INHALT" not in caplog.text
    assert send_outbox(db, settings).logged == []  # once


# --- the digest ------------------------------------------------------------------------


def test_digest_lists_open_tasks_with_links_once_per_user_and_day(db, firm, settings, relay):
    sink, port = relay
    late = add_task(db, "C01", TaskKind.RELEASE_INVOICE, TODAY - timedelta(days=3), "t:late")
    soon = add_task(db, "C01", TaskKind.APPROVE_EXPENSE, TODAY + timedelta(days=2), "t:soon")
    undated = add_task(db, "C01", TaskKind.RELEASE_INVOICE, None, "t:undated")
    for_lea = add_task(
        db,
        "C01",
        TaskKind.MISSING_DOCUMENT,
        TODAY + timedelta(days=5),
        "t:lea",
        assignee_user="lea",
    )
    fiduciary = add_task(
        db, "C01", TaskKind.REVIEW_DOCUMENT, TODAY, "t:fidu", assignee=Party.FIDUCIARY
    )
    done = add_task(db, "C01", TaskKind.RELEASE_INVOICE, TODAY, "t:done")
    offline = add_task(db, "C02", TaskKind.MISSING_DOCUMENT, TODAY, "t:offline")
    with db.session() as session:
        from storage.tables import TaskRow

        mark_done(session, session.get(TaskRow, done), "hans")
    settings = with_relay(settings, port, public_url=PUBLIC + "/")

    for _ in range(2):  # a second run the same day (a retry, a restart) sends nothing new
        with db.session() as session:
            queue_digests(session, settings, TODAY)
        send_outbox(db, settings)
    received = by_recipient(sink)
    assert sorted(received) == [
        "hans@muster.example",
        "lea@muster.example",
        "marie@muster.example",
    ]  # otto has no email; fritz is offline
    assert len(sink.received) == 3

    hans = received["hans@muster.example"]
    assert hans["Subject"] == "Muster Bau AG: 3 offene Aufgaben"
    text = hans.get_content()
    assert text.startswith("Guten Tag hans")
    links = [line.strip() for line in text.splitlines() if line.strip().startswith("https://")]
    # Overdue first, then by due date, undated last; another user's request, the
    # fiduciary's task, a done task and another client's task are not listed.
    assert links == [
        f"{PUBLIC}/tasks/{late}",
        f"{PUBLIC}/tasks/{soon}",
        f"{PUBLIC}/tasks/{undated}",
    ]
    assert "ÜBERFÄLLIG seit 07.03.2026" in text and "fällig 12.03.2026" in text
    assert f"Alle Aufgaben: {PUBLIC}/tasks" in text
    for hidden in (for_lea, fiduciary, done, offline):
        assert f"/tasks/{hidden}\n" not in text

    marie = received["marie@muster.example"]
    assert marie["Subject"] == "Muster Bau AG : 3 tâches ouvertes"
    assert "EN RETARD depuis le 07.03.2026" in marie.get_content()

    lea = received["lea@muster.example"]  # the employee: only the request addressed to her
    assert lea["Subject"] == "Muster Bau AG: 1 offene Aufgabe"
    assert f"{PUBLIC}/tasks/{for_lea}" in lea.get_content()
    assert f"/tasks/{late}" not in lea.get_content()

    recorded = {m.recipient: m for m in mails(db)}
    assert {k for k in recorded} == set(received)
    assert recorded["hans@muster.example"].dedupe_key == f"digest:hans:{TODAY.isoformat()}"
    for address, message in received.items():
        assert message["Message-ID"] == recorded[address].message_id
        assert recorded[address].state == OutboxState.SENT

    # The next day brings the next digest.
    with db.session() as session:
        report = queue_digests(session, settings, TODAY + timedelta(days=1))
    assert set(report.queued) == {"hans", "marie", "lea"}


def test_digest_without_a_public_url_says_where_the_tasks_are(db, firm, settings):
    add_task(db, "C01", TaskKind.RELEASE_INVOICE, TODAY, "t:one")
    with db.session() as session:
        report = queue_digests(session, settings, TODAY)
    assert set(report.queued) == {"hans", "marie"}  # lea has nothing addressed to her
    body = next(m.body for m in mails(db) if m.recipient == "hans@muster.example")
    assert "http" not in body and "«Aufgaben» (/tasks)" in body


def test_no_open_task_no_digest(db, firm, settings):
    add_task(db, "C01", TaskKind.REVIEW_DOCUMENT, TODAY, "t:fidu", assignee=Party.FIDUCIARY)
    with db.session() as session:
        assert queue_digests(session, settings, TODAY).queued == {}
    assert mails(db) == []


def test_digest_order_is_overdue_first():
    lines = [
        TaskLine(task_id=1, kind="release_invoice", reason="", due_date=None),
        TaskLine(task_id=2, kind="release_invoice", reason="", due_date=TODAY + timedelta(1)),
        TaskLine(task_id=3, kind="release_invoice", reason="", due_date=TODAY - timedelta(1)),
        TaskLine(task_id=4, kind="release_invoice", reason="", due_date=TODAY - timedelta(9)),
        TaskLine(task_id=5, kind="release_invoice", reason="", due_date=TODAY),
    ]
    assert [t.task_id for t in digest_order(lines, TODAY)] == [4, 3, 5, 2, 1]


# --- the flows (Prefect) ---------------------------------------------------------------


@pytest.mark.prefect
@pytest.mark.xdist_group("prefect")
def test_remind_missing_mails_each_reminder_once_per_task_and_day(prefect_harness, runtime, relay):
    from flows.remind_missing import REMIND_EVERY_DAYS, remind_missing

    sink, port = relay
    db = runtime.db
    with db.session() as session:
        load_master_data(session, MasterData.model_validate(firm_data()))
    runtime.settings = with_relay(runtime.settings, port, public_url=PUBLIC)
    past = TODAY - timedelta(days=4)
    release = add_task(db, "C01", TaskKind.RELEASE_INVOICE, past, "t:release")
    asked = add_task(db, "C01", TaskKind.ASK_CLIENT, past, "t:ask-lea", assignee_user="lea")
    add_task(db, "C02", TaskKind.APPROVE_EXPENSE, past, "t:offline")  # to the fiduciary

    report = asyncio.run(remind_missing(today=TODAY))
    assert sorted(report.reminded) == sorted([release, asked]) and report.mails == 3
    got = sorted((str(m["To"]), m["Subject"]) for m in sink.received)
    assert got == [
        ("hans@muster.example", "Erinnerung: Rechnung freigeben (fällig seit 06.03.2026)"),
        ("lea@muster.example", "Erinnerung: Rückfrage (fällig seit 06.03.2026)"),
        ("marie@muster.example", "Rappel : Valider la facture (échue le 06.03.2026)"),
    ]
    hans = by_recipient(sink)["hans@muster.example"]
    assert f"{PUBLIC}/tasks/{release}" in hans.get_content()
    assert hans["Reply-To"] == "muster-7f3a9c@in.treuhand.example"
    assert {m.dedupe_key for m in mails(db)} >= {f"reminder:{release}:{TODAY}:hans"}

    asyncio.run(remind_missing(today=TODAY))  # the same day again: no second mail
    assert len(sink.received) == 3
    asyncio.run(remind_missing(today=TODAY + timedelta(days=REMIND_EVERY_DAYS)))
    assert len(sink.received) == 6  # a week later, the next reminder


@pytest.mark.prefect
@pytest.mark.xdist_group("prefect")
def test_send_digests_flow_sends_once_a_day(prefect_harness, runtime, relay):
    from flows.notify import send_digests, send_outbox_flow

    sink, port = relay
    db = runtime.db
    with db.session() as session:
        load_master_data(session, MasterData.model_validate(firm_data()))
    runtime.settings = with_relay(runtime.settings, port, public_url=PUBLIC)
    add_task(db, "C01", TaskKind.RELEASE_INVOICE, TODAY, "t:one")
    first = asyncio.run(send_digests(today=TODAY))
    second = asyncio.run(send_digests(today=TODAY))
    assert set(first.queued) == {"hans", "marie"} and second.queued == {}
    assert sorted(second.already) == ["hans", "marie"]
    assert sorted(str(m["To"]) for m in sink.received) == [
        "hans@muster.example",
        "marie@muster.example",
    ]
    assert asyncio.run(send_outbox_flow()).sent == []  # nothing left to send


def test_a_relay_without_starttls_never_gets_the_password(db, firm, settings, relay):
    sink, port = relay  # the sink offers no STARTTLS
    with db.session() as session:
        outbox.queue_mail(
            session,
            kind=MailKind.DIGEST,
            recipient="hans@muster.example",
            subject="s",
            body="b",
            dedupe_key="digest:tls",
        )
    secure = with_relay(
        settings, port, mail_relay_user="fidu", mail_relay_password=SecretStr("relay-pw-topsecret")
    )
    report = send_outbox(db, secure)
    assert report.relay_down is not None and "in clear" in report.relay_down
    [row] = mails(db)
    assert row.state == OutboxState.QUEUED and "STARTTLS" in row.last_error
    assert sink.received == []


def test_a_refused_sender_is_the_relays_setup_and_loses_nothing(db, firm, settings, relay):
    sink, port = relay
    sink.refuse_sender = True
    with db.session() as session:
        outbox.queue_mail(
            session,
            kind=MailKind.DIGEST,
            recipient="hans@muster.example",
            subject="s",
            body="b",
            dedupe_key="digest:sender",
        )
    report = send_outbox(db, with_relay(settings, port))
    assert report.failed == [] and report.relay_down and "550" in report.relay_down
    assert mails(db)[0].state == OutboxState.QUEUED
    sink.refuse_sender = False
    assert len(send_outbox(db, with_relay(settings, port)).sent) == 1
    assert len(sink.received) == 1
