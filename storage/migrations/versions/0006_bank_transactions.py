"""bank_transactions and open_items: bank statements reconciled (issue 16)

Each transaction of a camt statement is stored once per account (`entry_key`, `part`);
documents waiting for their payment are `open_items`, indexed by what reconciliation
looks up. Clients get `banking` (reconciliation settings, ledger accounts per IBAN,
posting rules), tasks a `transaction_id` (a missing document's bank entry).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("account_iban", sa.String(length=34), nullable=False),
        sa.Column("entry_key", sa.String(length=120), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=True),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("counterparty_name", sa.String(length=200), nullable=True),
        sa.Column("counterparty_iban", sa.String(length=34), nullable=True),
        sa.Column("reference", sa.String(length=40), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=40), nullable=True),
        sa.Column("remittance", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("suggestions", sa.JSON(), nullable=False),
        sa.Column("posting_rule", sa.String(length=100), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_bank_transactions_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_bank_transactions_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transactions")),
        sa.UniqueConstraint(
            "client_id",
            "account_iban",
            "entry_key",
            "part",
            name=op.f("uq_bank_transactions_client_id_account_iban_entry_key_part"),
        ),
    )
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.create_index("ix_bank_transactions_client_id", ["client_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bank_transactions_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            "ix_bank_transactions_waiting", ["client_id", "status", "amount"], unique=False
        )

    op.create_table(
        "open_items",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=40), nullable=True),
        sa.Column("invoice_number", sa.String(length=100), nullable=True),
        sa.Column("supplier_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("name_key", sa.String(length=200), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("counter_account", sa.String(length=10), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("paid_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_open_items_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_open_items_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_open_items_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_open_items")),
    )
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open_items_amount", ["client_id", "status", "amount"], unique=False
        )
        batch_op.create_index("ix_open_items_iban", ["client_id", "iban"], unique=False)
        batch_op.create_index("ix_open_items_name", ["client_id", "name_key"], unique=False)
        batch_op.create_index("ix_open_items_reference", ["client_id", "reference"], unique=False)
        batch_op.create_index("ix_open_items_supplier", ["client_id", "supplier_id"], unique=False)

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("banking", sa.JSON(), nullable=False, server_default="{}"))

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transaction_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tasks_transaction_id"), ["transaction_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_transaction_id"))
        batch_op.drop_column("transaction_id")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("banking")

    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.drop_index("ix_open_items_supplier")
        batch_op.drop_index("ix_open_items_reference")
        batch_op.drop_index("ix_open_items_name")
        batch_op.drop_index("ix_open_items_iban")
        batch_op.drop_index("ix_open_items_amount")

    op.drop_table("open_items")
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_transactions_waiting")
        batch_op.drop_index(batch_op.f("ix_bank_transactions_document_id"))
        batch_op.drop_index("ix_bank_transactions_client_id")

    op.drop_table("bank_transactions")
