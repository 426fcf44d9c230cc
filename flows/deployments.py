"""The deployments `fiduflow serve` serves and `prefect.yaml` declares."""

from typing import Any


def all_deployments() -> list[Any]:
    from flows.process_batch import process_inbox
    from flows.process_document import process_document

    return [
        process_document.to_deployment(
            name="process-document",
            description="One run per document, started by intake.",
            tags=["fiduflow"],
        ),
        process_inbox.to_deployment(
            name="process-inbox",
            description="Every 5 minutes: claim and process every due document.",
            cron="*/5 * * * *",
            tags=["fiduflow"],
        ),
    ]
