"""The deployments of fiduflow — one list for `fiduflow serve` and `fiduflow worker`.

Both register them from here with their schedules (Europe/Zurich); nothing else declares
them, so the embedded default and the production workers run exactly the same flows on
the same schedules.
"""

import importlib
from dataclasses import dataclass, field
from typing import Any

TIMEZONE = "Europe/Zurich"
TAGS = ("fiduflow",)


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str  # "path/to/file.py:function", relative to the repository root
    description: str
    cron: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def module(self) -> str:
        path, _ = self.entrypoint.split(":")
        return path.removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.entrypoint.split(":")[1]

    def load_flow(self) -> Any:
        return getattr(importlib.import_module(self.module), self.function)


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        name="process-document",
        entrypoint="flows/process_document.py:process_document",
        description="One run per document, started by intake. Named "
        "<client>-<document id>-<filename>; tagged client, channel and document type.",
    ),
    DeploymentSpec(
        name="process-inbox",
        entrypoint="flows/process_batch.py:process_inbox",
        description="Every 5 minutes: claim every received, retry-due or lease-expired "
        "document and process them concurrently.",
        cron="*/5 * * * *",
        parameters={"limit": 500},
    ),
    DeploymentSpec(
        name="remind-missing",
        entrypoint="flows/remind_missing.py:remind_missing",
        description="Daily: remind online clients of overdue tasks; move overdue client "
        "tasks of offline clients and unanswered document requests to the fiduciary.",
        cron="0 7 * * *",
    ),
    DeploymentSpec(
        name="send-digests",
        entrypoint="flows/notify.py:send_digests",
        description="Daily: mail each online client's users with an email the list of "
        "their open tasks (overdue first, with links), once per user and day.",
        cron="0 7 * * *",
    ),
    DeploymentSpec(
        name="send-outbox",
        entrypoint="flows/notify.py:send_outbox_flow",
        description="Every minute: hand queued mails (digests, reminders, requests) to the "
        "relay, each at most once; without a relay, log what would have been sent.",
        cron="* * * * *",
    ),
    DeploymentSpec(
        name="close-period",
        entrypoint="flows/close_period.py:close_period",
        description="Monthly (and on demand with client and period): a checklist per "
        "client and tasks for what blocks the period close.",
        cron="0 6 2 * *",
    ),
    DeploymentSpec(
        name="export-bookings",
        entrypoint="flows/export_bookings.py:export_bookings",
        description="Nightly: write each client's bookings posted since its last export "
        "(by seq) as CSV and JSON Lines.",
        cron="30 1 * * *",
    ),
)


def by_name(name: str) -> DeploymentSpec:
    return next(spec for spec in DEPLOYMENTS if spec.name == name)


def runner_deployment(spec: DeploymentSpec) -> Any:
    """The deployment `prefect.serve` runs for one spec (schedule in Europe/Zurich)."""
    from prefect.schedules import Cron

    return spec.load_flow().to_deployment(
        name=spec.name,
        description=spec.description,
        schedule=Cron(spec.cron, timezone=TIMEZONE) if spec.cron else None,
        parameters=dict(spec.parameters),
        tags=list(TAGS),
    )
