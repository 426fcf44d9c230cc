"""task module: corrections, history, learning, outbound mail

- document_events: every person's action on a document and every corrected field
  (who, when, action, field, before, after) — the document's history;
- bookings: `kind` (document | payment | rule) and `corrected_by`;
- learned_rules: what corrections taught, per client and supplier (account, VAT code,
  payment method, private);
- supplier_aliases: printed names and IBANs a correction tied to a supplier;
- field_positions: where a supplier's layout prints a field (learned from corrections);
- outbox: mails to send (digests, reminders, requests), each with its Message-ID, sent
  at most once;
- clients: `contact_email` (where requests to an offline client go) and `language`.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.String(32), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("field", sa.String(40), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
    )
    op.create_index("ix_document_events_document", "document_events", ["document_id", "id"])
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="document")
        )
        batch.add_column(sa.Column("corrected_by", sa.String(100), nullable=True))
    op.create_table(
        "learned_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.String(32), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("supplier_id", sa.String(40), sa.ForeignKey("suppliers.id"), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("learned_by", sa.String(100), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.UniqueConstraint("client_id", "supplier_id", "field"),
    )
    op.create_table(
        "supplier_aliases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("supplier_id", sa.String(40), sa.ForeignKey("suppliers.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("normalized", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(32), sa.ForeignKey("clients.id"), nullable=True),
        sa.Column("learned_by", sa.String(100), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("supplier_id", "kind", "normalized"),
    )
    op.create_index("ix_supplier_aliases_normalized", "supplier_aliases", ["kind", "normalized"])
    op.create_table(
        "field_positions",
        sa.Column("supplier_id", sa.String(40), sa.ForeignKey("suppliers.id"), primary_key=True),
        sa.Column("field", sa.String(40), primary_key=True),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("x0", sa.Float(), nullable=False),
        sa.Column("y0", sa.Float(), nullable=False),
        sa.Column("x1", sa.Float(), nullable=False),
        sa.Column("y1", sa.Float(), nullable=False),
        sa.Column("learned_by", sa.String(100), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.String(32), sa.ForeignKey("clients.id"), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False, unique=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_outbox_state", "outbox", ["state", "id"])
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("contact_email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("language", sa.String(2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("language")
        batch.drop_column("contact_email")
    op.drop_index("ix_outbox_state", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("field_positions")
    op.drop_index("ix_supplier_aliases_normalized", table_name="supplier_aliases")
    op.drop_table("supplier_aliases")
    op.drop_table("learned_rules")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("corrected_by")
        batch.drop_column("kind")
    op.drop_index("ix_document_events_document", table_name="document_events")
    op.drop_table("document_events")
