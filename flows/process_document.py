"""`process-document`: one run per document, started by a feeder while the system is quiet
(flows/feeder.py), or from the UI or the API.

Async on purpose: a synchronous Prefect flow waits ~1 s for its heartbeat thread at the
end of every run (measured, DESIGN.md); an async flow costs ~0.2 s.

The run says what became of its document, so that an operator need not open it: its final
state's message ("booked: booking #12 posted", "routed: task release_invoice; booking #13
draft", "unreadable: …"), a tag `outcome:<booked|task|unreadable|…>` to filter by, and
not a plain `Completed` where that would mislead: a file that could not be read ends in a
Completed state named `Unreadable` (the run did its job; a person has the task), a
document that failed for good in a Failed state.

Cancelled from the UI (or the API it uses), a run stops before its next step: the document
is given back to `received` unprocessed, due again after a pause (`CANCELLED_PAUSE`), and
the run ends Cancelled, saying so. Prefect cancels a run by killing the process it started
for it; the runs of `fiduflow worker` and `serve` share a process, so the run asks.
"""

from typing import Any

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Cancelled, Completed, Failed, State

from flows.artifacts import outcome_message, outcome_tag, run_filename
from flows.cancel import RunCancel
from flows.pipeline import CANCELLED_PAUSE_MINUTES, handed_over, process_one, tag_run
from flows.runtime import get_runtime
from flows.steps import Outcome
from storage.tables import DocumentRow


def run_name() -> str:
    """`<client>-<document id>-<filename>`, so operators find a document's run by name."""
    return named_document(flow_run.parameters.get("document_id"))


def named_document(document_id: Any) -> str:
    """The run name of a document (`document-<id>` when it cannot be looked up)."""
    try:
        with get_runtime().db.session() as session:
            row = session.get(DocumentRow, int(document_id))
            if row is not None:
                return document_run_name(row.client_id, row.id, row.filename)
    except Exception:  # noqa: S110 - a name is not worth failing a run for
        pass
    return f"document-{document_id}"


def document_run_name(client_id: str, document_id: int, filename: str) -> str:
    """Run names are shown to everyone who sees Prefect, and kept: the file name in one is
    redacted (a sender may name a file after an IBAN, an AHV number or a token) and short."""
    return f"{client_id}-{document_id}-{run_filename(filename)}"


class DocumentFailed(Exception):
    """A document that failed for good (its `processing_failed` task is for a person); what
    calling the flow raises for it, with the outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome_message(outcome))
        self.outcome = outcome


CANCELLED_MESSAGE = (
    "cancelled: the document was given back unprocessed; it is taken up again in "
    f"{CANCELLED_PAUSE_MINUTES} minutes"
)


def final_state(outcome: Outcome) -> State[Any]:
    """The run's final state: what became of the document, its outcome as the result."""
    if outcome.cancelled:
        return Cancelled(message=CANCELLED_MESSAGE, data=outcome)
    message = outcome_message(outcome)
    kind = outcome_tag(outcome)
    if kind == "failed":
        return Failed(message=message, data=DocumentFailed(outcome))
    if kind == "unreadable":
        return Completed(name="Unreadable", message=message, data=outcome)
    return Completed(message=message, data=outcome)


@flow(name="process-document", flow_run_name=run_name, log_prints=False)
async def process_document(document_id: int) -> Outcome:
    """Read, classify, extract, match, route and persist one document. Its result is the
    `Outcome` (a failed document raises `DocumentFailed`); its state says what became of it."""
    step_runs = get_runtime().settings.step_runs
    # Claimed for this run by the feeder that started it (flows/feeder.py); a run asked for
    # from the UI, the API or a retry (None) claims it here.
    owner = handed_over(document_id)
    outcome = process_one(
        document_id, owner, claimed=owner is not None, step_runs=step_runs, cancelled=RunCancel()
    )
    if not outcome.cancelled:
        tag_run(f"outcome:{outcome_tag(outcome)}")
    return final_state(outcome)
