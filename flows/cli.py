"""The `fiduflow` command line.

Heavy imports (Prefect, the readers) happen inside the commands that need them, so
`fiduflow --help` and `fiduflow extract` stay quick, and Prefect's home is configured
before Prefect is imported.
"""

import asyncio
import dataclasses
import json
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from domain.enums import Activity, Channel, Party, Phase

app = typer.Typer(
    name="fiduflow",
    help="Document intake and bookkeeping workflows for a Swiss fiduciary.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
setup_app = typer.Typer(
    help="Master data: the fiduciary, clients, users, suppliers.", no_args_is_help=True
)
policy_app = typer.Typer(
    help="Division of labour between client and fiduciary.", no_args_is_help=True
)
users_app = typer.Typer(
    help="Users: list them, disable one at once (token, password and sessions stop), enable.",
    no_args_is_help=True,
)
rules_app = typer.Typer(
    help="Posting rules: recurring bank entries booked without a document, per client.",
    no_args_is_help=True,
)
app.add_typer(setup_app, name="setup")
app.add_typer(policy_app, name="policy")
app.add_typer(users_app, name="users")
app.add_typer(rules_app, name="rules")

console = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 1) -> None:
    # soft_wrap: a message holds paths and commands to copy; the terminal wraps it, rich
    # must not cut a long path in two (it did, at 80 columns, without a terminal).
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code)


def _runtime():  # type: ignore[no-untyped-def]
    from flows.runtime import get_runtime

    return get_runtime()


def _use_data(*, create: bool = False) -> None:
    """Say which data this command uses (one line on stderr) and, unless it may make a new
    data folder (`setup`; `serve` has its own), refuse to work on one that does not exist:
    run from the wrong folder, a command would otherwise make an empty database."""
    from domain.settings import get_settings
    from flows.runtime import data_summary, installed_runtime, missing_data

    runtime = installed_runtime()
    settings = runtime.settings if runtime is not None else get_settings()
    console.print(f"[dim]{data_summary(settings)}[/dim]", soft_wrap=True)
    if create or runtime is not None:
        return
    problem = missing_data(settings)
    if problem:
        fail(
            f"{problem}. Run this where fiduflow keeps its data, or set FIDUFLOW_DATA_DIR "
            "to that folder; `fiduflow setup load FILE` (or `fiduflow serve`) makes a new one."
        )


# --- setup -------------------------------------------------------------------------


@setup_app.command("load")
def setup_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    if_empty: Annotated[
        bool,
        typer.Option(
            "--if-empty",
            help="Load only into a database without clients yet (how ./run loads its demo): "
            "never over what people have set up since.",
        ),
    ] = False,
) -> None:
    """Load master data from a YAML or JSON file (idempotent upsert)."""
    import yaml
    from pydantic import ValidationError

    from domain.masterdata import MasterData
    from storage.masterdata import list_clients, load_master_data

    _use_data(create=True)

    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        data = MasterData.model_validate(raw)
    except yaml.YAMLError as exc:
        fail(f"{file} is not valid YAML/JSON: {exc}")
    except ValidationError as exc:
        # Each problem by where it is and what is wrong, without the entry's values:
        # pydantic would print them, passwords and tokens included.
        problems = "\n".join(
            f"  {'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        fail(f"{file} does not describe master data:\n{problems}")
    try:
        with _runtime().db.session() as session:
            clients = len(list_clients(session)) if if_empty else 0
            if not clients:
                summary = load_master_data(session, data)
    except ValueError as exc:
        fail(str(exc))
    if clients:
        out.print(
            f"{file}: not loaded, the database has {clients} client(s) already (--if-empty "
            f"loads only into a new one; `fiduflow setup load {file}` loads it over them)"
        )
        return
    out.print(
        f"loaded {summary['clients']} clients, {summary['users']} users, "
        f"{summary['suppliers']} suppliers, {summary['staff']} staff for {data.fiduciary.name}"
        + (
            f"; disabled {summary['disabled']} users no longer listed"
            if summary.get("disabled")
            else ""
        )
    )


# --- extract -----------------------------------------------------------------------


@app.command()
def extract(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the Extraction as JSON.")] = False,
) -> None:
    """Read one file and print what was found in it."""
    import extractors
    from domain.settings import get_settings

    settings = get_settings()
    config = extractors.ReaderConfig.from_settings(settings)
    if not settings.data_dir.is_dir():
        # OCR results are cached in the data folder; this command does not make one.
        config = config.replace(ocr_cache_dir=None)
    with extractors.Readers(config) as readers:
        extraction = extractors.extract(file.read_bytes(), file.name, readers=readers)
    data = extraction.public_json()
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    table = Table(title=f"{file.name} ({data['text_source']})", show_header=True)
    table.add_column("field")
    table.add_column("value")
    table.add_column("confidence", justify="right")
    for key, value in data.items():
        if key in ("confidence", "timings", "positions", "page_sizes", "text_source"):
            continue
        if value in (None, [], {}):
            continue
        conf = data["confidence"].get(key)
        table.add_row(
            key,
            json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value,
            f"{conf:.2f}" if conf is not None else "",
        )
    out.print(table)
    if extraction.error:
        raise typer.Exit(2)


# --- process -----------------------------------------------------------------------


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            fail(f"{path} does not exist")
    return found


@app.command()
def process(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to take in.")],
    client: Annotated[str, typer.Option("--client", help="Client id the documents are for.")],
    channel: Annotated[Channel, typer.Option(help="Channel to record.")] = Channel.BATCH,
    split: Annotated[
        bool,
        typer.Option(
            "--split",
            help="Each PDF may hold several documents (paper scanned at the firm): cut it "
            "into the documents its reading finds, and process each.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Take files in through the intake and process them to the end."""
    from flows import prefect_env

    _use_data()
    api_url = prefect_env.configure()
    from ingest.intake import IntakeRefused, StorageUnavailable, Submission, intake
    from storage.masterdata import get_client

    runtime = _runtime()
    with runtime.db.session() as session:
        if get_client(session, client) is None:
            fail(f"unknown client {client!r}; load master data with `fiduflow setup load`")
    files = _files(paths)
    results: list[dict] = []
    ids: list[int] = []
    for path in files:
        entry: dict = {"file": str(path)}
        try:
            recorded = intake(
                runtime.db,
                runtime.store,
                Submission(
                    client_id=client,
                    channel=channel,
                    data=path.read_bytes(),
                    filename=path.name,
                    meta={"split": True} if split else {},
                ),
                max_bytes=runtime.settings.max_message_bytes,
            )
        except IntakeRefused as exc:
            entry |= {"state": "refused", "reason": exc.reason}
        except StorageUnavailable as exc:
            entry |= {"state": "refused", "reason": str(exc)}
        else:
            entry |= {"document_id": recorded.document_id, "state": recorded.state.value}
            if recorded.duplicate_of:
                entry["duplicate_of"] = recorded.duplicate_of
            if recorded.state.value == "received":
                ids.append(recorded.document_id)
        results.append(entry)

    outcomes = _run_with_progress(ids, quiet=as_json, api_url=api_url) if ids else {}
    # A split PDF's documents were taken in while it was processed: process them too.
    children = {c: o.document_id for o in outcomes.values() for c in o.children}
    if children:
        outcomes |= _run_with_progress(list(children), quiet=as_json, api_url=api_url)
        results += [
            {"file": outcomes[c].filename if c in outcomes else "", "document_id": c}
            | {"split_of": parent, "state": "received"}
            for c, parent in children.items()
        ]
    for entry in results:
        outcome = outcomes.get(entry.get("document_id"))
        if outcome is not None:
            entry |= {
                "state": outcome.state.value,
                "doc_type": outcome.doc_type,
                "bookings": outcome.booking_ids,
                "booking_status": outcome.booking_status,
                "tasks": outcome.task_kinds,
                "rule": outcome.rule,
                "error": outcome.error,
            }
            if outcome.children:
                entry["children"] = outcome.children
    if as_json:
        out.print_json(json.dumps(results, ensure_ascii=False, default=str))
    else:
        _print_process_table(results)
    if any(e["state"] in ("refused", "failed") for e in results):
        raise typer.Exit(1)


def _run_with_progress(ids: list[int], *, quiet: bool, api_url: str | None) -> dict:
    from flows.process_batch import process_documents
    from storage.tables import DocumentRow

    if not quiet and api_url is None:
        console.print(
            "[dim]no Prefect server running: starting a temporary one "
            "(`fiduflow serve` keeps one running)[/dim]"
        )
    result: dict = {}
    error: list[BaseException] = []

    def worker() -> None:
        try:
            for outcome in asyncio.run(process_documents(ids)):
                result[outcome.document_id] = outcome
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=worker, name="process-documents")
    thread.start()
    db = _runtime().db
    with Progress(
        TextColumn("processing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as bar:
        job = bar.add_task("documents", total=len(ids))
        while thread.is_alive():
            thread.join(0.3)
            with db.session() as session:
                done = (
                    session.query(DocumentRow)
                    .filter(
                        DocumentRow.id.in_(ids),
                        DocumentRow.state.not_in(["received", "processing"]),
                    )
                    .count()
                )
            bar.update(job, completed=done)
        bar.update(job, completed=len(ids))
    if error:
        fail(f"processing stopped: {error[0]}")
    return result


def _print_process_table(results: list[dict]) -> None:
    table = Table(title="what became of each file")
    for column in ("file", "document", "state", "type", "booking", "tasks"):
        table.add_column(column)
    for e in results:
        booking = ""
        if e.get("bookings"):
            booking = f"#{e['bookings'][0]} {e.get('booking_status') or ''}"
        table.add_row(
            Path(e["file"]).name,
            str(e.get("document_id", "")),
            e["state"] + (f" of {e['duplicate_of']}" if e.get("duplicate_of") else ""),
            e.get("doc_type") or "",
            booking,
            ", ".join(e.get("tasks") or [])
            or e.get("reason", "")
            or e.get("error")
            or (f"split into {', '.join(map(str, e['children']))}" if e.get("children") else ""),
        )
    out.print(table)


# --- status and settings -----------------------------------------------------------


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Documents per state, open tasks, last flow runs."""
    from flows import prefect_env
    from flows.status import collect_status

    _use_data()
    api_url = prefect_env.configure()
    data = collect_status(_runtime(), api_url)
    if as_json:
        out.print_json(json.dumps(data, default=str))
        return
    table = Table(title="documents")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state, count in sorted(data["documents"].items()):
        table.add_row(state, str(count))
    out.print(table)
    leases = data.get("leases") or {}
    if any(leases.values()):
        out.print(
            f"in flight: {leases['processing']} being processed, "
            f"{leases['lease_expired']} with an expired lease (the next process-inbox "
            f"sweep takes them), {leases['waiting_for_retry']} waiting for a retry"
        )
    tasks = Table(title="open tasks")
    tasks.add_column("assignee")
    tasks.add_column("kind")
    tasks.add_column("count", justify="right")
    for row in data["open_tasks"]:
        tasks.add_row(row["assignee"], row["kind"], str(row["count"]))
    out.print(tasks)
    mail = data.get("outbox") or {}
    if mail.get("states"):
        out.print("outbox: " + ", ".join(f"{n} {s}" for s, n in sorted(mail["states"].items())))
    for stuck in mail.get("stuck") or []:
        out.print(
            f"[yellow]mail #{stuck['id']} ({stuck['kind']}, {stuck['client_id'] or '-'}) was "
            f"handed to the relay but never confirmed; not sent again — look for "
            f"{stuck['message_id']} in the relay's log[/yellow]"
        )
    runs = Table(title=f"last flow runs ({api_url or 'no Prefect server running'})")
    for column in ("flow run", "state", "start"):
        runs.add_column(column)
    for run in data["last_runs"]:
        runs.add_row(run["name"], run["state"], str(run["start"] or ""))
    out.print(runs)


@app.command()
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Read every original and check its hash.")
    ] = True,
) -> None:
    """Every document's original is stored and matches its SHA-256; list orphaned objects.

    Exit code 1 when an original is missing or corrupt. Orphans (objects no document refers
    to, left by a crash between the object write and the database commit) are reported,
    not an error: intake writes the object first, so they are harmless.
    """
    from storage.integrity import check_store

    _use_data()
    runtime = _runtime()
    with runtime.db.session() as session:
        report = check_store(session, runtime.store, verify=verify)
    if as_json:
        out.print_json(json.dumps({**dataclasses.asdict(report), "ok": report.ok}))
    else:
        table = Table(title="object store check")
        table.add_column("what")
        table.add_column("count", justify="right")
        table.add_column("sha256 (first 20)")
        table.add_row("documents (distinct originals)", str(report.documents), "")
        table.add_row("inbound mails (raw, distinct)", str(report.messages), "")
        table.add_row("objects stored", str(report.objects), "")
        table.add_row("verified", str(report.verified), "" if verify else "skipped (--no-verify)")
        for label, items in (
            ("missing", report.missing),
            ("corrupt", report.corrupt),
            ("orphans", report.orphans),
        ):
            table.add_row(label, str(len(items)), "\n".join(items[:20]))
        out.print(table)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def reread(
    document_id: Annotated[int, typer.Argument(help="The document's id.")],
    by: Annotated[
        str | None, typer.Option(help="Who asks (kept on the tasks it closes); default: you.")
    ] = None,
) -> None:
    """Read a document again from scratch: forget the stored reading of its bytes and
    put it back to `received` (refused when it has a posted booking)."""
    import getpass

    from storage.documents import RereadRefused, reread_document

    _use_data()
    who = by or getpass.getuser() or "staff"
    try:
        with _runtime().db.session() as session:
            done = reread_document(session, document_id, who)
    except RereadRefused as exc:
        fail(str(exc))
    what = f"document {done.document_id} ({done.client_id}, {done.filename})"
    out.print(f"{what}, was {done.previous_state}:")
    out.print(f"  forgot {done.readings_dropped} stored reading(s) of its bytes")
    if done.tasks_closed:
        ids = ", ".join(f"#{i}" for i in done.tasks_closed)
        out.print(f"  closed the earlier reading's open task(s) {ids}")
    if done.drafts_removed:
        ids = ", ".join(f"#{i}" for i in done.drafts_removed)
        out.print(f"  removed its never-posted booking(s) {ids}")
    out.print(
        "  back to received: the next process-inbox sweep reads it again "
        "(`fiduflow serve` runs one every 5 minutes)"
    )


@app.command("settings")
def show_settings() -> None:
    """Every setting (environment variable FIDUFLOW_<NAME>), its value and default."""
    from domain.settings import Settings

    current = Settings()
    table = Table(title="settings")
    table.add_column("variable", no_wrap=True)  # whole, so it can be copied on any terminal
    for column in ("value", "default", "meaning"):
        table.add_column(column)
    for name, field in Settings.model_fields.items():
        value = getattr(current, name)
        shown = "***" if "secret" in name and value else str(value)
        default = field.get_default(call_default_factory=True)
        table.add_row(f"FIDUFLOW_{name.upper()}", shown, str(default), field.description or "")
    out.print(table)


# --- policy ------------------------------------------------------------------------


@policy_app.command("set")
def policy_set(
    client: str,
    activity: Activity,
    party: Party,
    phase: Annotated[list[Phase] | None, typer.Option(help="Phase(s); default all.")] = None,
) -> None:
    """Make CLIENT or the fiduciary responsible for an activity."""
    from domain.policy import PolicyError
    from storage.masterdata import get_client, set_policy

    _use_data()
    with _runtime().db.session() as session:
        found = get_client(session, client)
        if found is None:
            fail(f"unknown client {client!r}")
        try:
            policy = found.policy.with_override(activity, party, phase)
            set_policy(session, client, policy)
        except PolicyError as exc:
            fail(f"client {client}: {exc}")
    out.print(
        f"{client}: {activity.value} → {party.value} "
        f"({', '.join(p.value for p in phase) if phase else 'all phases'})"
    )


@policy_app.command("show")
def policy_show(client: str) -> None:
    """Who is responsible for what, per phase."""
    from storage.masterdata import get_client

    _use_data()
    with _runtime().db.session() as session:
        found = get_client(session, client)
    if found is None:
        fail(f"unknown client {client!r}")
    title = f"{found.id} {found.name} ({found.mode.value}; documents now: {found.phase.value})"
    table = Table(title=title)
    table.add_column("activity")
    for phase in Phase:
        table.add_column(phase.value)
    for activity, phases in found.policy.table().items():
        table.add_row(activity.value, *(phases[p].value for p in Phase))
    out.print(table)


# --- posting rules -----------------------------------------------------------------

ClientOption = Annotated[str, typer.Option("--client", help="The client's id.")]


@rules_app.command("list")
def rules_list(
    client: ClientOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rules as JSON.")] = False,
) -> None:
    """The client's posting rules, in the order they were given."""
    from domain.identifiers import format_iban
    from domain.money import to_money
    from storage.posting_rules import UnknownClient, posting_rules

    _use_data()
    try:
        with _runtime().db.session() as session:
            rules = posting_rules(session, client)
    except UnknownClient as exc:
        fail(str(exc))
    if as_json:
        rows = [rule.model_dump(mode="json") for rule in rules]
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"posting rules of {client}")
    for column in ("name", "counterparty IBAN", "text contains", "direction", "amount"):
        table.add_column(column, overflow="fold")  # a criterion is shown whole, never cut
    for column in ("account", "VAT code"):
        table.add_column(column, no_wrap=True)
    for rule in rules:
        amount = f"{to_money(rule.amount):.2f}" if rule.amount is not None else ""
        if rule.amount_max is not None:
            amount = " ".join(filter(None, (amount, f"at most {to_money(rule.amount_max):.2f}")))
        table.add_row(
            rule.name,
            format_iban(rule.counterparty_iban) if rule.counterparty_iban else "",
            rule.text_contains or "",
            rule.direction.value if rule.direction else "",
            amount,
            rule.account,
            rule.vat_code or "",
        )
    out.print(table if rules else f"{client}: no posting rules")


@rules_app.command("set")
def rules_set(
    client: ClientOption,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="YAML or JSON: a list of rules, or {posting_rules: [...]}.",
        ),
    ],
) -> None:
    """Replace the client's posting rules with those of FILE (an empty list removes them)."""
    import yaml

    from domain.masterdata import InvalidPostingRules, posting_rules_from
    from storage.posting_rules import UnknownClient, set_posting_rules

    _use_data()
    try:
        rules = posting_rules_from(yaml.safe_load(file.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        fail(f"{file} is not valid YAML/JSON: {exc}", code=2)
    except InvalidPostingRules as exc:
        fail(f"{file}: {exc}", code=2)
    try:
        with _runtime().db.session() as session:
            set_posting_rules(session, client, rules)
    except UnknownClient as exc:
        fail(str(exc))
    out.print(f"{client}: {len(rules)} posting rule(s) set")


# --- users -------------------------------------------------------------------------


def _operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in a container: still say it was done by hand
        return "operator"


@users_app.command("list")
def users_list() -> None:
    """Every user, staff first, with access and whether (and by whom) they are disabled."""
    from storage.accounts import list_accounts

    _use_data()
    with _runtime().db.session() as session:
        accounts = list_accounts(session)
    table = Table()
    for column in ("user", "client", "access", "disabled"):
        table.add_column(column)
    for a in accounts:
        disabled = f"{a.disabled_at:%Y-%m-%d %H:%M} by {a.disabled_by}" if a.disabled_at else ""
        table.add_row(a.username, a.client_id or "(staff)", a.access, disabled)
    out.print(table)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable USERNAME: API token, password and web sessions stop working at once."""
    from storage.accounts import UnknownUser, disable_user

    _use_data()
    try:
        with _runtime().db.session() as session:
            changed = disable_user(session, username, by=_operator())
    except UnknownUser as exc:
        fail(str(exc))
    out.print(f"{username}: disabled" if changed else f"{username}: was already disabled")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable USERNAME again (their old sessions stay ended; they log in anew)."""
    from storage.accounts import UnknownUser, enable_user

    _use_data()
    try:
        with _runtime().db.session() as session:
            changed = enable_user(session, username)
    except UnknownUser as exc:
        fail(str(exc))
    out.print(f"{username}: enabled" if changed else f"{username}: was not disabled")


# --- serve -------------------------------------------------------------------------


@app.command()
def serve() -> None:
    """SMTP + HTTP intake and the Prefect deployments (embedded default). One per data
    folder; Ctrl-C stops it and everything it started."""
    from flows import supervisor

    if not supervisor.supervised():
        raise typer.Exit(supervisor.run())
    from flows.serve import serve_all

    serve_all()


# --- production processes (README, "Running in production") -------------------------


def _intake_dispatcher():  # type: ignore[no-untyped-def]
    """Runtime and what this intake process does with a recorded document: by default
    nothing, the workers' feeders take it from the database (flows/dispatch.py)."""
    from flows import prefect_env
    from flows.dispatch import make_dispatcher

    _use_data()
    prefect_env.configure()  # `inline` runs the flow here
    runtime = _runtime()
    return runtime, make_dispatcher(runtime.settings)


def _wait_for_stop() -> None:
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass


@app.command()
def smtp() -> None:
    """SMTP intake only (stateless: run several behind MX records)."""
    try:
        from ingest.smtp import SmtpConfigError, start_smtp
    except ModuleNotFoundError as exc:
        fail(f"SMTP intake is not available in this installation ({exc.name})")
    runtime, dispatcher = _intake_dispatcher()
    settings = runtime.settings
    try:
        handle = start_smtp(runtime.db, runtime.store, settings, dispatcher)
    except SmtpConfigError as exc:
        fail(str(exc))
    console.print(f"SMTP intake on {settings.smtp_host}:{handle.port}")
    try:
        _wait_for_stop()
    finally:
        handle.stop()


@app.command()
def api() -> None:
    """HTTP intake (API and web pages) only (stateless: run several behind a load balancer)."""
    try:
        from ingest.api import run_http_in_thread
        from web.app import create_app  # intake and the workspace (task inbox, task pages)
    except ModuleNotFoundError as exc:
        fail(f"HTTP intake is not available in this installation ({exc.name})")
    runtime, dispatcher = _intake_dispatcher()
    settings = runtime.settings
    ready = threading.Event()
    run_http_in_thread(create_app(runtime.db, runtime.store, settings, dispatcher), settings, ready)
    if not ready.wait(30):
        fail("the HTTP server did not start in 30 s")
    console.print(f"HTTP intake on http://{settings.http_host}:{settings.http_port}")
    _wait_for_stop()


@app.command()
def worker(
    limit: Annotated[
        int | None, typer.Option(help="Runs at once (default: FIDUFLOW_WORKER_RUNS).")
    ] = None,
) -> None:
    """Process documents and run fiduflow's flows for a Prefect server, warm, in this
    process (one per machine).

    Registers the deployments with their schedules, makes sure the `ocr` concurrency limit
    exists (a limit an operator set is never changed), then until SIGTERM or Ctrl-C — which
    let the work in flight finish — takes due documents from the database (a run each
    while quiet, a batch when busy: flows/feeder.py) and runs what Prefect has due:
    schedules, runs started or retried from the UI (flows/warm_worker.py).
    """
    import signal

    from flows import prefect_env
    from flows.deployments import DEPLOYMENTS
    from flows.feeder import DocumentFeeder
    from flows.warm_worker import WarmWorker

    _use_data()
    api_url = prefect_env.configure()
    if api_url is None:
        fail("no Prefect server: set PREFECT_API_URL (e.g. http://prefect:4200/api)")
    prefect_env.skip_ca_bundle_for_plain_http(api_url)
    settings = _runtime().settings
    ocr = prefect_env.ensure_ocr_limit(settings.ocr_processes)
    runs = limit or settings.worker_runs
    warm = WarmWorker(list(DEPLOYMENTS), limit=runs).start()
    feeder = DocumentFeeder(settings.document_runs, settings.batch_poll_s).start()
    console.print(
        f"fiduflow worker: {len(DEPLOYMENTS)} deployments on {api_url}, up to {runs} runs at "
        f"once; documents: up to {settings.document_runs} runs at once, a batch when more "
        f"are due; OCR limit {ocr.value} ({'created' if ocr.created else 'already set'})",
        soft_wrap=True,
    )
    _wait_for_stop()
    # A second Ctrl-C or SIGTERM stops at once; the leases bring back what was in flight.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    console.print(f"stopping: {warm.in_flight() + feeder.in_flight()} run(s) in flight finish …")
    feeder.stop()
    warm.stop()
    console.print("stopped")


def main() -> None:
    from flows.artifacts import install_log_redaction

    install_log_redaction()  # no document content or secret in any log line of ours
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
