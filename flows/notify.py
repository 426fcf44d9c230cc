"""Outbound mail: the daily digest (`send-digests`) and the outbox sender (`send-outbox`).

Mails are queued in the outbox (storage/outbox.py) by whatever asks for them — the
digest below, `remind-missing`, "ask the client" of an offline client — and sent from
there, never from a web request: a slow or dead relay must not hold up a person's click,
and a mail queued in the same transaction as its cause is never lost. Latency: the
`send-outbox` deployment runs every minute (inside `fiduflow serve`, without a process
per run), and the flows that queue mails (digests, reminders) send them at their end.

Sending one mail (`send_outbox`): claim it `sending` and commit; hand it to the relay
(smtplib over a socket, with the Message-ID fixed at queueing); then record `sent`.
- relay unreachable, refusing the login or our sender, or 4xx before the message was
  accepted: back to `queued` with `last_error`, tried again next run — a relay that is
  down loses nothing (the run stops there; the rest wait untouched);
- 5xx to the recipient or the message (the relay will never take it): `failed`, with
  the answer, for an operator;
- the connection breaks while the message is being handed over, or the process dies
  after the relay's 250 and before `sent` is recorded: the row stays `sending` and is
  never handed over again (at most once). Such rows are logged as a warning and listed
  in the run's artifact (`storage.outbox.stuck_sending`);
- no relay configured (`FIDUFLOW_MAIL_RELAY_HOST` unset): `logged`, and one log line per
  mail says what would have been sent — recipient, subject, Message-ID, never the body.

The digest (`queue_digests`): each enabled user of an online client with an `email`
gets, at most once a day (`digest:<user>:<date>`), the list of the open tasks waiting for
them — for company users the client's tasks (payslips only where the client shows them),
for employees the requests addressed to them — overdue first, with links to the task
pages, in the user's language. No open task, no mail.
"""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr, parseaddr
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from domain.enums import MailKind, OutboxState
from domain.mails import TaskLine, compose_digest, pick_language
from domain.settings import Settings
from flows.artifacts import run_name_of
from flows.pipeline import run_logger
from flows.runtime import get_runtime
from storage import outbox
from storage.db import Database
from storage.masterdata import first_inbound_address, online_users_with_email, user_by_username
from storage.scope import Scope
from storage.tables import Fiduciary, OutboxMail, utcnow
from storage.tasks import open_client_tasks_for

log = logging.getLogger("fiduflow.notify")
ZURICH = ZoneInfo("Europe/Zurich")

RELAY_TIMEOUT_S = 30.0
# Mails one send-outbox run takes (the next run, a minute later, takes the rest).
SEND_LIMIT = 500
# Replies to these reach the client's inbound address: documents sent back are taken in.
REPLY_TO_INBOUND = (MailKind.REQUEST.value, MailKind.REMINDER.value)


# --- the relay ------------------------------------------------------------------------


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    tls: str  # auto | starttls | ssl | none
    user: str | None = None
    password: str | None = None
    timeout: float = RELAY_TIMEOUT_S


def relay_of(settings: Settings) -> Relay | None:
    if not settings.mail_relay_host:
        return None
    password = settings.mail_relay_password
    return Relay(
        host=settings.mail_relay_host,
        port=settings.mail_relay_port,
        tls=settings.mail_relay_tls,
        user=settings.mail_relay_user,
        password=password.get_secret_value() if password is not None else None,
    )


class RelayUnavailable(Exception):
    """Nothing was handed over and the relay is not taking mail now: retry later."""


class TemporaryRefusal(Exception):
    """The relay refused this mail for now (4xx): retry it later."""


class PermanentRefusal(Exception):
    """The relay refused this mail for good (5xx)."""


class Uncertain(Exception):
    """The connection broke while the message was handed over: it may have gone out."""


def deliver(relay: Relay, message: EmailMessage, sender: str, recipient: str) -> None:
    """Hand one message to the relay; returns once the relay answered 250 to its data.
    MAIL, RCPT and DATA are sent one by one so that a failure before the message went out
    (safe to retry) is told apart from one while it went out (never retried)."""
    smtp = _open(relay)
    try:
        _envelope(smtp, sender, recipient)
        try:
            smtp.data(message.as_bytes(policy=SMTP_POLICY))
        except smtplib.SMTPDataError as exc:  # an answer: DATA or the message refused
            raise _refusal(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Uncertain(f"connection lost while handing the message over: {exc}") from exc
    finally:
        _close(smtp)


def _open(relay: Relay) -> smtplib.SMTP:
    context = ssl.create_default_context()
    try:
        if relay.tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                relay.host, relay.port, timeout=relay.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout)
        smtp.ehlo()
        if relay.tls in ("auto", "starttls") and (
            smtp.has_extn("starttls") or relay.tls == "starttls"
        ):
            smtp.starttls(context=context)
            smtp.ehlo()
        if relay.user:
            if not isinstance(smtp.sock, ssl.SSLSocket):
                raise RelayUnavailable(
                    f"{relay.host}:{relay.port} offers no STARTTLS: not sending the relay "
                    "password in clear"
                )
            smtp.login(relay.user, relay.password or "")
        return smtp
    except RelayUnavailable:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise RelayUnavailable(f"the relay refused the login ({exc.smtp_code})") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise RelayUnavailable(f"{relay.host}:{relay.port} unreachable: {exc}") from exc


def _envelope(smtp: smtplib.SMTP, sender: str, recipient: str) -> None:
    try:
        code, answer = smtp.mail(sender)
        if code >= 400:  # our sender refused: the relay's setup, not this mail's fault
            raise RelayUnavailable(str(_refusal(code, answer, "MAIL")))
        code, answer = smtp.rcpt(recipient)
        if code >= 400:
            smtp.rset()
            raise _refusal(code, answer, "RCPT")
    except (TemporaryRefusal, PermanentRefusal):
        raise
    except (OSError, smtplib.SMTPException) as exc:
        raise RelayUnavailable(f"the relay broke the connection: {exc}") from exc


def _refusal(code: int, answer: bytes | str, command: str = "DATA") -> Exception:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    error = f"{command} refused: {code} {' '.join(text.split())}"
    return TemporaryRefusal(error) if 400 <= code < 500 else PermanentRefusal(error)


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


# --- the message ----------------------------------------------------------------------


def sender_of(settings: Settings, session: Session) -> str:
    """The From header: FIDUFLOW_MAIL_FROM, else the firm's name at noreply@ its domain."""
    if settings.mail_from:
        return settings.mail_from
    firm = session.get(Fiduciary, 1)
    domain = settings.inbound_domain or (firm.inbound_domain if firm else None)
    return formataddr((firm.name if firm else "fiduflow", f"noreply@{domain or 'localhost'}"))


def reply_to_of(session: Session, mail: OutboxMail) -> str | None:
    if mail.kind not in REPLY_TO_INBOUND or mail.client_id is None:
        return None
    return first_inbound_address(session, mail.client_id)


def build_message(mail: OutboxMail, sender: str, reply_to: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = mail.message_id
    if reply_to:
        message["Reply-To"] = reply_to
    # Keep vacation responders quiet (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body, charset="utf-8")
    return message


# --- sending the outbox -----------------------------------------------------------------


class StuckMail(BaseModel):
    id: int
    kind: str
    client_id: str | None
    message_id: str
    handed_over: str | None  # ISO time it went to the relay
    last_error: str | None


class OutboxReport(BaseModel):
    sent: list[int] = Field(default_factory=list)
    logged: list[int] = Field(default_factory=list)
    retry: list[int] = Field(default_factory=list)
    failed: list[int] = Field(default_factory=list)
    uncertain: list[int] = Field(default_factory=list)
    relay_down: str | None = None  # why the run stopped early
    stuck: list[StuckMail] = Field(default_factory=list)


def send_outbox(
    db: Database,
    settings: Settings,
    *,
    limit: int = SEND_LIMIT,
    logger: logging.Logger | logging.LoggerAdapter | None = None,  # type: ignore[type-arg]
) -> OutboxReport:
    """Send (or, without a relay, log) the queued mails, oldest first; see the module."""
    logger = logger or log
    report = OutboxReport()
    relay = relay_of(settings)
    with db.session() as session:
        ids = outbox.queued_ids(session, limit)
    for mail_id in ids:
        if relay is None:
            _log_instead(db, mail_id, report, logger)
            continue
        if not _send_one(db, settings, relay, mail_id, report, logger):
            break
    with db.session() as session:
        report.stuck = [_stuck(row) for row in outbox.stuck_sending(session)]
    if report.stuck:
        logger.warning(
            "%d mail(s) were handed to the relay but never recorded as sent; they are not "
            "sent again — check the relay's log for their Message-IDs: %s",
            len(report.stuck),
            ", ".join(f"#{m.id} {m.message_id}" for m in report.stuck),
        )
    return report


def _log_instead(db: Database, mail_id: int, report: OutboxReport, logger) -> None:  # type: ignore[no-untyped-def]
    with db.session() as session:
        mail = outbox.claim(session, mail_id, OutboxState.LOGGED)
        if mail is None:
            return
        logger.info(
            "mail not sent (no FIDUFLOW_MAIL_RELAY_HOST): %s to %s, subject %r, Message-ID %s",
            mail.kind,
            mail.recipient,
            mail.subject,
            mail.message_id,
        )
    report.logged.append(mail_id)


def _send_one(  # type: ignore[no-untyped-def]
    db: Database, settings: Settings, relay: Relay, mail_id: int, report: OutboxReport, logger
) -> bool:
    """One mail through the relay; False when the relay is down (stop this run)."""
    with db.session() as session:  # committed: `sending` before anything leaves
        mail = outbox.claim(session, mail_id, OutboxState.SENDING)
        if mail is None:  # another sender took it
            return True
        sender = sender_of(settings, session)
        message = build_message(mail, sender, reply_to_of(session, mail))
        recipient, kind, message_id = mail.recipient, mail.kind, mail.message_id
    try:
        deliver(relay, message, parseaddr(sender)[1], recipient)
    except RelayUnavailable as exc:
        _record(db, outbox.mark_retry, mail_id, str(exc))
        report.retry.append(mail_id)
        report.relay_down = str(exc)
        logger.warning("relay unavailable, mail #%d stays queued: %s", mail_id, exc)
        return False
    except TemporaryRefusal as exc:
        _record(db, outbox.mark_retry, mail_id, str(exc))
        report.retry.append(mail_id)
        logger.warning("mail #%d refused for now, stays queued: %s", mail_id, exc)
        return True
    except PermanentRefusal as exc:
        _record(db, outbox.mark_failed, mail_id, str(exc))
        report.failed.append(mail_id)
        logger.error("mail #%d (%s) refused by the relay, not retried: %s", mail_id, kind, exc)
        return True
    except Uncertain as exc:
        _record(db, outbox.note_uncertain, mail_id, str(exc))
        report.uncertain.append(mail_id)
        logger.warning(
            "mail #%d %s may have gone out; not sent again: %s", mail_id, message_id, exc
        )
        return True
    with db.session() as session:
        outbox.mark_sent(session, mail_id)
    report.sent.append(mail_id)
    logger.info("mail #%d (%s) sent, Message-ID %s", mail_id, kind, message_id)
    return True


def _record(db: Database, step, mail_id: int, error: str) -> None:  # type: ignore[no-untyped-def]
    with db.session() as session:
        step(session, mail_id, error)


def _stuck(row: OutboxMail) -> StuckMail:
    return StuckMail(
        id=row.id,
        kind=row.kind,
        client_id=row.client_id,
        message_id=row.message_id,
        handed_over=row.sent_at.isoformat() if row.sent_at else None,
        last_error=row.last_error,
    )


def outbox_markdown(report: OutboxReport) -> str:
    lines = [
        "# Outbox",
        "",
        f"- sent: **{len(report.sent)}**",
        f"- logged (no relay configured): **{len(report.logged)}**",
        f"- queued again (relay down or refused for now): **{len(report.retry)}**",
        f"- refused for good: **{len(report.failed)}**",
        f"- may have gone out (connection broke), not sent again: **{len(report.uncertain)}**",
    ]
    if report.relay_down:
        lines += ["", f"The relay is not taking mail: {report.relay_down}"]
    if report.stuck:
        lines += [
            "",
            "## Handed to the relay, never confirmed (not sent again)",
            "",
            "Look up these Message-IDs in the relay's log; `storage.outbox.requeue` queues "
            "one again if it never went out.",
            "",
            "| id | kind | client | Message-ID | handed over | last error |",
            "|---:|---|---|---|---|---|",
        ]
        for m in report.stuck:
            lines.append(
                f"| {m.id} | {m.kind} | {m.client_id or ''} | `{m.message_id}` | "
                f"{m.handed_over or ''} | {m.last_error or ''} |"
            )
    return "\n".join(lines)


# --- the daily digest -------------------------------------------------------------------


class DigestReport(BaseModel):
    today: date
    queued: dict[str, int] = Field(default_factory=dict)  # username → tasks listed
    already: list[str] = Field(default_factory=list)  # digest of today queued before


def digest_key(username: str, day: date) -> str:
    return f"digest:{username}:{day.isoformat()}"


def queue_digests(session: Session, settings: Settings, today: date) -> DigestReport:
    """Queue today's digest for every user who has open tasks waiting (see the module)."""
    report = DigestReport(today=today)
    firm = session.get(Fiduciary, 1)
    firm_name = firm.name if firm else "fiduflow"
    for row, client in online_users_with_email(session):
        user = user_by_username(session, row.username)
        if user is None or not row.email:
            continue
        tasks = open_tasks_for(session, Scope.of(user), row.username)
        if not tasks:
            continue
        key = digest_key(row.username, today)
        if outbox.is_queued(session, key):
            report.already.append(row.username)
            continue
        subject, body = compose_digest(
            language=pick_language(row.language, client.language),
            name=row.username,
            client_name=client.name,
            firm_name=firm_name,
            tasks=tasks,
            today=today,
            public_url=settings.public_url,
        )
        outbox.queue_mail(
            session,
            kind=MailKind.DIGEST,
            recipient=row.email,
            subject=subject,
            body=body,
            dedupe_key=key,
            client_id=client.id,
        )
        report.queued[row.username] = len(tasks)
    return report


def open_tasks_for(session: Session, scope: Scope, username: str) -> list[TaskLine]:
    """The client's open tasks waiting for this user: the client's side of the work
    (not the fiduciary's), not addressed to someone else, and within the user's scope."""
    return [
        TaskLine(task_id=t.id, kind=t.kind, reason=t.reason, due_date=t.due_date)
        for t in open_client_tasks_for(session, scope, username)
    ]


def digest_markdown(report: DigestReport, sent: OutboxReport) -> str:
    lines = [
        f"# Digests of {report.today:%d.%m.%Y}",
        "",
        f"- queued now: **{len(report.queued)}** users, "
        f"{sum(report.queued.values())} open tasks listed",
        f"- queued earlier today (not again): **{len(report.already)}**",
        f"- sent: **{len(sent.sent)}**, logged without a relay: **{len(sent.logged)}**, "
        f"waiting for the relay: **{len(sent.retry)}**",
    ]
    return "\n".join(lines)


# --- the flows ------------------------------------------------------------------------


@flow(name="send-outbox", flow_run_name=run_name_of("outbox"))
async def send_outbox_flow(limit: int = SEND_LIMIT) -> OutboxReport:
    """Hand queued mails to the relay (every minute); see flows/notify.py."""
    runtime = get_runtime()
    report = send_outbox(runtime.db, runtime.settings, limit=limit, logger=run_logger())
    if report.stuck or report.failed or report.relay_down:
        await acreate_markdown_artifact(
            markdown=outbox_markdown(report),
            key="send-outbox",
            description="Mails not sent as planned",
        )
    return report


@flow(name="send-digests", flow_run_name=run_name_of("digests", "today"))
async def send_digests(today: date | None = None) -> DigestReport:
    """Queue each online client user's daily list of open tasks and send it. `today`
    defaults to today in Europe/Zurich; a second run on the same day sends nothing new."""
    day = today or datetime.now(ZURICH).date()
    runtime = get_runtime()
    with runtime.db.session() as session:
        report = queue_digests(session, runtime.settings, day)
    sent = send_outbox(runtime.db, runtime.settings, logger=run_logger())
    run_logger().info(
        "send-digests %s: %d digests queued (%d queued earlier today)",
        day.isoformat(),
        len(report.queued),
        len(report.already),
    )
    await acreate_markdown_artifact(
        markdown=digest_markdown(report, sent),
        key="send-digests",
        description=f"Digests of {day.isoformat()}",
    )
    return report


def outbox_for_status(db: Database) -> dict[str, object]:
    """What `fiduflow status` shows of the outbox: mails per state, and the stuck ones."""
    with db.session() as session:
        return {
            "states": outbox.counts_by_state(session),
            "stuck": [_stuck(row).model_dump() for row in outbox.stuck_sending(session)],
        }
