"""`process-document`: one run per document, started by intake for low latency.

Async on purpose: a synchronous Prefect flow waits ~1 s for its heartbeat thread at the
end of every run (measured, DESIGN.md); an async flow costs ~0.2 s.
"""

from prefect import flow
from prefect.runtime import flow_run

from flows.artifacts import run_filename
from flows.pipeline import process_one
from flows.runtime import get_runtime
from flows.steps import Outcome
from storage.tables import DocumentRow


def run_name() -> str:
    """`<client>-<document id>-<filename>`, so operators find a document's run by name."""
    document_id = flow_run.parameters.get("document_id")
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


@flow(name="process-document", flow_run_name=run_name, log_prints=False)
async def process_document(document_id: int) -> Outcome:
    """Read, classify, extract, match, route and persist one document."""
    return process_one(document_id)
