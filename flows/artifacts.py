"""What operators see besides states: log redaction and the artifacts of our flows.

Logs and artifacts name documents (by id and file name) and clients (by id), and never
carry what is *in* a document: its text, amounts, IBANs — nor secrets. Our own messages
are written that way; `redact` is the safety net for everything else that ends up in a
log line or an artifact (exception texts, database errors that quote their parameters,
URLs with passwords), installed process-wide by `install_log_redaction`.
"""

import logging
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

# IBANs: country, check digits, 11–30 more characters, printed with or without spaces.
# Bounded by "no letter or digit" rather than \b, which an underscore defeats: file names
# such as "Rechnung_CH9300762011623852957.pdf" reach logs and run names.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ \u00a0]?[A-Z0-9]{1,4}){3,8}(?![A-Za-z0-9])")
# AHV/AVS numbers (Swiss social security): 756.1234.5678.97, with spaces, or 7561234567897.
_AHV = re.compile(r"(?<!\d)756(?:[. \u00a0]?\d{4}){2}[. \u00a0]?\d{2}(?!\d)")
# In file names also: long digit runs (account, card and phone numbers; a date like
# 20260301 is shorter and stays) and token-like runs of letters mixed with digits.
_LONG_DIGITS = re.compile(r"\d{9,}")
_TOKEN_LIKE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{16,}")
# Amounts: 1'234.50, 1’234.50, 1 234.50, 1.234,50, 1234.50, 12.– (two decimals or a dash).
_AMOUNT = re.compile(
    r"(?<![\w.,’'])(?:\d{1,3}(?:[’' \u00a0\u202f.,]\d{3})+|\d+)(?:[.,]\d{2}|\.[–-])(?![.,]?\d)"
)
# SQLAlchemy quotes the statement and its parameters (document text, IBANs) in errors.
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\(Background|\[SQL|$))", re.DOTALL)
_SQL_STATEMENT = re.compile(r"\[SQL: .*?\](?=\s*(?:\[parameters|\(Background|$))", re.DOTALL)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
_SECRET_WORDS = re.compile(
    r"(?i)\b(password|passwd|secret|token|api[_-]?key|authorization|bearer)(\s*[=:]\s*|\s+)"
    r"(?:bearer\s+|basic\s+)?(\"[^\"]*\"|'[^']*'|\S+)"
)

MAX_REASON = 300
# A run name shows this much of a file name (its extension kept), after redaction.
RUN_NAME_FILENAME_CHARS = 40


def redact(text: str) -> str:
    """The text with IBANs, AHV numbers, amounts, quoted SQL parameters and secrets
    masked."""
    if not text:
        return text
    text = _SQL_PARAMETERS.sub("[parameters: hidden]", text)
    text = _SQL_STATEMENT.sub("[SQL: hidden]", text)
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _SECRET_WORDS.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _IBAN.sub("<iban>", text)
    text = _AHV.sub("<ahv>", text)  # before amounts: "756.1234.5678.97" has a ".97"
    return _AMOUNT.sub("<amount>", text)


def redact_filename(name: str) -> str:
    """A file name as logs and run names may show it: `redact`, and no long digit runs or
    token-like strings (a sender may name a file after an account, a card or a secret)."""
    text = redact(name)
    text = _TOKEN_LIKE.sub("<token>", text)
    return _LONG_DIGITS.sub("<number>", text)


def run_filename(name: str, limit: int = RUN_NAME_FILENAME_CHARS) -> str:
    """The redacted file name, shortened to `limit` characters keeping its extension."""
    text = " ".join(redact_filename(name).split())
    if len(text) <= limit:
        return text
    stem, dot, ext = text.rpartition(".")
    suffix = f"{dot}{ext}" if dot and stem and len(ext) <= 10 else ""
    return text[: limit - len(suffix) - 1].rstrip() + "…" + suffix


def run_name_of(prefix: str, *parameters: str) -> Callable[[], str]:
    """A `flow_run_name` for a run that a schedule, the UI or `prefect deployment run`
    starts (Prefect would name it at random, "lean-macaw"): `prefix` and the values of the
    `parameters` given (`close-C01-2026-01`), else when it was due, Europe/Zurich time
    (`outbox-2026-12-06-0617`)."""

    def name() -> str:
        from prefect.runtime import flow_run

        given = [str(flow_run.parameters.get(p)) for p in parameters if flow_run.parameters.get(p)]
        if given:
            return "-".join([prefix, *given])
        due = flow_run.scheduled_start_time
        zurich = ZoneInfo("Europe/Zurich")
        return f"{prefix}-{due.astimezone(zurich):%Y-%m-%d-%H%M}" if due else prefix

    return name


def short_reason(text: str | None) -> str:
    """An error for an artifact: redacted, one line, bounded."""
    if not text:
        return ""
    line = " ".join(redact(text).split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


# --- logging ---------------------------------------------------------------------------

_installed = False
_install_lock = threading.Lock()


def install_log_redaction() -> None:
    """Redact every log record this process creates, whoever logs it and wherever it goes
    (console, Prefect's API log handler, a file): done once, in the record factory, so it
    also covers handlers that are added later."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


_formatter = logging.Formatter()


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg = cleaned
        record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        # Formatters use exc_text when it is set: format the traceback once, redacted.
        record.exc_text = redact(_formatter.formatException(record.exc_info))


# --- artifacts -------------------------------------------------------------------------


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys: lowercase letters, digits and dashes only."""
    raw = "-".join(parts).lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", raw)).strip("-")


def outcome_label(outcome: Any) -> str:
    """What became of a document, in an operator's words (an `Outcome`)."""
    if outcome.skipped:
        return "skipped (done already or held by another worker)"
    if outcome.cancelled:
        return "given back (run cancelled)"
    state = outcome.state.value
    if state == "routed":
        if outcome.booking_status == "posted" and not outcome.task_ids:
            return "booked"
        if outcome.booking_ids and outcome.task_ids:
            return "task, booking as draft"
        if outcome.task_ids:
            return "task"
        return "routed"
    if state == "received":
        return "retry later"
    return state


def outcome_tag(outcome: Any) -> str:
    """One word for what became of a document, for the `outcome:` tag of its run (the UI
    filters runs by tag): booked, task, unreadable, split, routed, duplicate, rejected,
    failed, retry (not finished, tried again later), skipped."""
    if outcome.skipped:
        return "skipped"
    state = outcome.state.value
    if state == "received":
        return "retry"
    if state != "routed":
        return state
    if outcome.rule == "unreadable":
        return "unreadable"
    if outcome.children:
        return "split"
    if outcome.booking_status == "posted" and not outcome.task_ids:
        return "booked"
    return "task" if outcome.task_ids else "routed"


def outcome_message(outcome: Any) -> str:
    """What became of a document, for the state message of its run: ids and kinds, and a
    redacted reason when it was not read or not finished — never what is in it."""
    kind = outcome_tag(outcome)
    tasks = f"task {', '.join(outcome.task_kinds)}" if outcome.task_kinds else ""
    bookings = ", ".join(f"#{i}" for i in outcome.booking_ids)
    if kind == "skipped":
        return "skipped: final already, or another worker holds it"
    if kind == "retry":
        return f"not finished, tried again later: {short_reason(outcome.error)}"
    if kind == "failed":
        return "; ".join(
            part
            for part in (
                f"failed: {short_reason(outcome.error)}",
                tasks,
                f"`fiduflow reread {outcome.document_id}` reads it again",
            )
            if part
        )
    if kind == "unreadable":
        why = outcome.reasons[-1] if outcome.reasons else outcome.error
        return f"unreadable: {short_reason(why)}; {tasks or 'a task for a person'}"
    if kind == "split":
        return f"split into documents {_ids(outcome.children)}"
    if kind == "booked":
        return f"booked: booking {bookings} posted"
    if kind == "task":
        draft = f"; booking {bookings} {outcome.booking_status}" if bookings else ""
        return f"routed: {tasks}{draft}"
    return kind


def inbox_summary(outcomes: Iterable[Any]) -> list[dict[str, str]]:
    """Rows of the table artifact at the end of a sweep: documents by outcome, then each
    failed or postponed document with its (redacted) reason."""
    outcomes = list(outcomes)
    by_label: dict[str, list[Any]] = defaultdict(list)
    for outcome in outcomes:
        by_label[outcome_label(outcome)].append(outcome)
    rows = []
    for label, group in sorted(by_label.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        clients = Counter(o.client_id for o in group)
        rows.append(
            {
                "outcome": label,
                "documents": str(len(group)),
                "ids": _ids(o.document_id for o in group),
                "clients": ", ".join(f"{c} ({n})" for c, n in sorted(clients.items())),
                "reason": "",
            }
        )
    for outcome in outcomes:
        if outcome.state.value in ("failed", "received") and not outcome.skipped:
            rows.append(
                {
                    "outcome": outcome_label(outcome),
                    "documents": "1",
                    "ids": str(outcome.document_id),
                    "clients": outcome.client_id,
                    "reason": short_reason(outcome.error),
                }
            )
    return rows


def _ids(ids: Iterable[int], limit: int = 30) -> str:
    ordered = sorted(ids)
    shown = ", ".join(str(i) for i in ordered[:limit])
    return shown + (f", … ({len(ordered) - limit} more)" if len(ordered) > limit else "")
