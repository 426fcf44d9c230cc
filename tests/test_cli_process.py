"""`fiduflow process` (a README command): files through the intake and one
`process-documents` run, named after its documents like a document's own run
(`<client>-<id>-<filename> and N more`, never a random name), the outcome of each printed;
a refused file makes the exit code 1."""

import json

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.factories import invoice_pdf
from tests.test_ops_support import flow_run_logs, prefect_call, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]


def test_process_takes_files_in_and_prints_each_outcome(
    prefect_harness, runtime, load_firm, tmp_path
) -> None:
    load_firm()
    first, second = (tmp_path / "rechnung-1.pdf"), (tmp_path / "rechnung-2.pdf")
    first.write_bytes(invoice_pdf("C02", number=1, seed=5)[0])
    second.write_bytes(invoice_pdf("C02", number=2, seed=5)[0])
    (tmp_path / "notiz.txt").write_text("kein Beleg")

    result = CliRunner().invoke(app, ["process", str(tmp_path), "--client", "C02", "--json"])

    assert result.exit_code == 1, result.output  # the text file was refused
    by_file = {e["file"].rsplit("/", 1)[-1]: e for e in json.loads(result.stdout)}
    assert by_file["notiz.txt"]["state"] == "refused"
    for name in ("rechnung-1.pdf", "rechnung-2.pdf"):
        entry = by_file[name]
        assert entry["state"] == "routed" and entry["doc_type"] == "supplier_invoice", entry
        assert entry["bookings"] or entry["tasks"], entry

    # One flow run for both, named as a document's own run after the first (the newest
    # of that name: the harness serves every test), each document's outcome a line of its log.
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    first = by_file["rechnung-1.pdf"]["document_id"]
    name = f"C02-{first}-rechnung-1.pdf and 1 more"
    [run] = prefect_call(
        lambda c: c.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    )
    assert run.state is not None and run.state.is_completed()
    ids = {by_file[n]["document_id"] for n in ("rechnung-1.pdf", "rechnung-2.pdf")}

    def logged() -> set[int]:
        lines = flow_run_logs(run.id)
        return {i for i in ids for line in lines if line.startswith(f"document {i} (")}

    assert wait_for(lambda: logged() == ids)
