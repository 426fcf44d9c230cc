"""The texts of the mails fiduflow sends — daily digest, reminder, request — in the
reader's language (de, fr, it, en: the user's, else the client's, else German).

Pure: each `compose_*` takes what the mail says and returns its subject and plain-text
body; flows/notify.py and flows/remind_missing.py decide who gets one and queue it. Links
go to the task page `{public_url}/tasks/{id}`; without FIDUFLOW_PUBLIC_URL a relative link
would be useless in a mail, so the mail says where to find the task list instead.
Dates are written the Swiss way (31.12.2026) in every language.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

MailLanguage = Literal["de", "fr", "it", "en"]
LANGUAGES: tuple[MailLanguage, ...] = ("de", "fr", "it", "en")
DEFAULT_LANGUAGE: MailLanguage = "de"
# A digest lists this many tasks; the rest are counted and linked.
DIGEST_MAX_ITEMS = 50


def pick_language(*preferences: str | None) -> MailLanguage:
    """The first of `preferences` fiduflow writes in (user's, then client's)."""
    for language in preferences:
        if language and language.lower() in LANGUAGES:
            return language.lower()  # type: ignore[return-value]
    return DEFAULT_LANGUAGE


def swiss_date(day: date) -> str:
    return f"{day:%d.%m.%Y}"


@dataclass(frozen=True)
class TaskLine:
    """One open task as a mail lists it."""

    task_id: int
    kind: str  # TaskKind value
    reason: str
    due_date: date | None


# --- the few fixed words, per language ----------------------------------------------------

KIND_LABELS: dict[str, dict[MailLanguage, str]] = {
    "release_invoice": {
        "de": "Rechnung freigeben",
        "fr": "Valider la facture",
        "it": "Approvare la fattura",
        "en": "Release invoice",
    },
    "approve_expense": {
        "de": "Spesen genehmigen",
        "fr": "Approuver la dépense",
        "it": "Approvare la spesa",
        "en": "Approve expense",
    },
    "missing_document": {
        "de": "Fehlender Beleg",
        "fr": "Justificatif manquant",
        "it": "Giustificativo mancante",
        "en": "Missing document",
    },
    "ask_client": {
        "de": "Rückfrage",
        "fr": "Question",
        "it": "Domanda",
        "en": "Question",
    },
    "reconcile_entry": {
        "de": "Bankbuchung zuordnen",
        "fr": "Rapprocher une écriture bancaire",
        "it": "Riconciliare un movimento bancario",
        "en": "Reconcile bank entry",
    },
    "review_document": {
        "de": "Beleg prüfen",
        "fr": "Vérifier le document",
        "it": "Verificare il documento",
        "en": "Review document",
    },
    "suspected_duplicate": {
        "de": "Mögliches Duplikat",
        "fr": "Doublon possible",
        "it": "Possibile duplicato",
        "en": "Possible duplicate",
    },
}

TEXTS: dict[str, dict[MailLanguage, str]] = {
    "greeting": {
        "de": "Guten Tag {name}",
        "fr": "Bonjour {name}",
        "it": "Buongiorno {name}",
        "en": "Hello {name}",
    },
    "digest_subject_one": {
        "de": "{client}: 1 offene Aufgabe",
        "fr": "{client} : 1 tâche ouverte",
        "it": "{client}: 1 compito aperto",
        "en": "{client}: 1 open task",
    },
    "digest_subject_many": {
        "de": "{client}: {n} offene Aufgaben",
        "fr": "{client} : {n} tâches ouvertes",
        "it": "{client}: {n} compiti aperti",
        "en": "{client}: {n} open tasks",
    },
    "digest_intro": {
        "de": "für {client} warten am {day} diese Aufgaben auf Sie:",
        "fr": "pour {client}, ces tâches vous attendent au {day} :",
        "it": "per {client}, questi compiti la attendono al {day}:",
        "en": "for {client}, these tasks are waiting for you on {day}:",
    },
    "due": {
        "de": "fällig {day}",
        "fr": "échéance {day}",
        "it": "scadenza {day}",
        "en": "due {day}",
    },
    "overdue": {
        "de": "ÜBERFÄLLIG seit {day}",
        "fr": "EN RETARD depuis le {day}",
        "it": "SCADUTO dal {day}",
        "en": "OVERDUE since {day}",
    },
    "more": {
        "de": "… und {n} weitere.",
        "fr": "… et {n} autres.",
        "it": "… e altri {n}.",
        "en": "… and {n} more.",
    },
    "all_tasks": {
        "de": "Alle Aufgaben: {url}",
        "fr": "Toutes les tâches : {url}",
        "it": "Tutti i compiti: {url}",
        "en": "All tasks: {url}",
    },
    "no_link": {
        "de": "Melden Sie sich bei fiduflow Ihres Treuhänders an und öffnen Sie «Aufgaben» "
        "(/tasks); die Nummern oben sind die Aufgabennummern.",
        "fr": "Connectez-vous à fiduflow de votre fiduciaire et ouvrez « Tâches » (/tasks) ; "
        "les numéros ci-dessus sont ceux des tâches.",
        "it": "Acceda a fiduflow della sua fiduciaria e apra «Compiti» (/tasks); i numeri "
        "qui sopra sono quelli dei compiti.",
        "en": "Sign in to your fiduciary's fiduflow and open “Tasks” (/tasks); the numbers "
        "above are the task numbers.",
    },
    "footer": {
        "de": "Diese Nachricht wurde von {firm} automatisch versandt.",
        "fr": "Ce message a été envoyé automatiquement par {firm}.",
        "it": "Questo messaggio è stato inviato automaticamente da {firm}.",
        "en": "This message was sent automatically by {firm}.",
    },
    "reminder_subject": {
        "de": "Erinnerung: {kind} (fällig seit {day})",
        "fr": "Rappel : {kind} (échue le {day})",
        "it": "Promemoria: {kind} (scaduto il {day})",
        "en": "Reminder: {kind} (due since {day})",
    },
    "reminder_intro": {
        "de": "diese Aufgabe für {client} ist seit dem {day} fällig und noch offen:",
        "fr": "cette tâche pour {client} est échue depuis le {day} et toujours ouverte :",
        "it": "questo compito per {client} è scaduto il {day} ed è ancora aperto:",
        "en": "this task for {client} fell due on {day} and is still open:",
    },
    "reminder_ask": {
        "de": "Bitte erledigen Sie sie, damit wir Ihre Buchhaltung abschliessen können.",
        "fr": "Merci de la traiter afin que nous puissions tenir votre comptabilité à jour.",
        "it": "La preghiamo di evaderlo affinché possiamo tenere aggiornata la sua contabilità.",
        "en": "Please deal with it so that we can keep your books up to date.",
    },
    "request_subject": {
        "de": "Anfrage von {firm} für {client}",
        "fr": "Demande de {firm} pour {client}",
        "it": "Richiesta di {firm} per {client}",
        "en": "Request from {firm} for {client}",
    },
    "request_intro": {
        "de": "für die Buchhaltung von {client} bitten wir Sie um Folgendes:",
        "fr": "pour la comptabilité de {client}, nous vous prions de bien vouloir :",
        "it": "per la contabilità di {client} le chiediamo quanto segue:",
        "en": "for the books of {client}, we ask you for the following:",
    },
    "request_due": {
        "de": "Bitte bis am {day}.",
        "fr": "Merci d'ici au {day}.",
        "it": "Per favore entro il {day}.",
        "en": "Please by {day}.",
    },
    "request_reply": {
        "de": "Antworten Sie einfach auf diese Nachricht und hängen Sie die Belege an.",
        "fr": "Répondez simplement à ce message en joignant les justificatifs.",
        "it": "Risponda semplicemente a questo messaggio allegando i giustificativi.",
        "en": "Simply reply to this message with the documents attached.",
    },
}


def text(key: str, language: MailLanguage, **values: object) -> str:
    return TEXTS[key][language].format(**values)


def kind_label(kind: str, language: MailLanguage) -> str:
    labels = KIND_LABELS.get(kind)
    return labels[language] if labels else kind.replace("_", " ").capitalize()


def task_link(public_url: str | None, task_id: int) -> str | None:
    return f"{public_url.rstrip('/')}/tasks/{task_id}" if public_url else None


def digest_order(lines: list[TaskLine], today: date) -> list[TaskLine]:
    """Overdue first (oldest due date first), then by due date, undated last."""
    return sorted(
        lines,
        key=lambda t: (
            not (t.due_date is not None and t.due_date < today),
            t.due_date is None,
            t.due_date or date.max,
            t.task_id,
        ),
    )


def _task_lines(line: TaskLine, language: MailLanguage, today: date, url: str | None) -> list[str]:
    head = f"#{line.task_id} {kind_label(line.kind, language)}"
    if line.due_date is not None:
        key = "overdue" if line.due_date < today else "due"
        head += f" — {text(key, language, day=swiss_date(line.due_date))}"
    out = [f"- {head}"]
    reason = " ".join(line.reason.split())
    if reason:
        out.append(f"  {reason}")
    link = task_link(url, line.task_id)
    if link:
        out.append(f"  {link}")
    return out


def compose_digest(
    *,
    language: MailLanguage,
    name: str,
    client_name: str,
    firm_name: str,
    tasks: list[TaskLine],
    today: date,
    public_url: str | None,
) -> tuple[str, str]:
    """A user's daily list of open tasks: (subject, body). `tasks` must not be empty."""
    if not tasks:
        raise ValueError("a digest lists at least one task")
    ordered = digest_order(tasks, today)
    n = len(ordered)
    subject_key = "digest_subject_one" if n == 1 else "digest_subject_many"
    subject = text(subject_key, language, client=client_name, n=n)
    body = [
        text("greeting", language, name=name),
        "",
        text("digest_intro", language, client=client_name, day=swiss_date(today)),
        "",
    ]
    for line in ordered[:DIGEST_MAX_ITEMS]:
        body += _task_lines(line, language, today, public_url)
    if n > DIGEST_MAX_ITEMS:
        body.append(text("more", language, n=n - DIGEST_MAX_ITEMS))
    body += [
        "",
        _where_tasks_are(language, public_url),
        "",
        "-- ",
        text("footer", language, firm=firm_name),
    ]
    return subject, "\n".join(body) + "\n"


def _where_tasks_are(language: MailLanguage, public_url: str | None) -> str:
    if public_url:
        return text("all_tasks", language, url=f"{public_url.rstrip('/')}/tasks")
    return text("no_link", language)


def compose_reminder(
    *,
    language: MailLanguage,
    name: str,
    client_name: str,
    firm_name: str,
    task: TaskLine,
    today: date,
    public_url: str | None,
) -> tuple[str, str]:
    """A reminder of one overdue task: (subject, body). The task has a due date."""
    if task.due_date is None:
        raise ValueError("only a task with a due date can be overdue")
    day = swiss_date(task.due_date)
    label = kind_label(task.kind, language)
    subject = text("reminder_subject", language, kind=label, day=day)
    body = [
        text("greeting", language, name=name),
        "",
        text("reminder_intro", language, client=client_name, day=day),
        "",
        *_task_lines(task, language, today, public_url),
        "",
        text("reminder_ask", language),
        "",
        _where_tasks_are(language, public_url),
        "",
        "-- ",
        text("footer", language, firm=firm_name),
    ]
    return subject, "\n".join(body) + "\n"


def compose_request(
    *,
    language: MailLanguage,
    client_name: str,
    firm_name: str,
    message: str,
    due_date: date | None = None,
) -> tuple[str, str]:
    """ "Ask the client" for an offline client's contact address: (subject, body). The
    mail's Reply-To is the client's inbound address, so a reply with the documents
    attached is taken in as the client's documents."""
    body = [
        text("greeting", language, name="").rstrip(),
        "",
        text("request_intro", language, client=client_name),
        "",
        message.strip(),
        "",
    ]
    if due_date is not None:
        body.append(text("request_due", language, day=swiss_date(due_date)))
    body += [text("request_reply", language), "", "-- ", text("footer", language, firm=firm_name)]
    subject = text("request_subject", language, firm=firm_name, client=client_name)
    return subject, "\n".join(body) + "\n"
