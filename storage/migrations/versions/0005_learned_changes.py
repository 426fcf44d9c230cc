"""learned_changes: the history of what was learned per client and supplier

Every change of a learned rule — taught by a correction, edited or deleted by a person
on the supplier page or over the API — with who, when, before and after, so the
supplier page can say where a rule came from and who changed it.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learned_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.String(32), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("supplier_id", sa.String(40), sa.ForeignKey("suppliers.id"), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("before", sa.String(100), nullable=True),
        sa.Column("after", sa.String(100), nullable=True),
        sa.Column("how", sa.String(12), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
    )
    op.create_index(
        "ix_learned_changes_client_supplier", "learned_changes", ["client_id", "supplier_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_learned_changes_client_supplier", table_name="learned_changes")
    op.drop_table("learned_changes")
