"""access and accounts: who may see what, and accounts that can be revoked

- users: `email` (their mails count as their own uploads), `language`, `disabled_at` /
  `disabled_by` and `auth_epoch` (sessions carry it; logout, a password or token change
  raise it, so every older session dies);
- staff_users: `disabled_at` / `disabled_by`, `auth_epoch` likewise;
- clients: `payroll_visible` (company users see payslips only when true);
- tasks: `assignee_user` (a request addressed to one user; employees see only these) and
  `outcome` (released, posted, rejected, done: what completing it meant);
- supplier_ibans: `confirmed_by` (a person confirmed it on a `bank_details` task: a
  reload of master data keeps it).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account_columns() -> list[sa.Column]:
    return [
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_by", sa.String(length=100), nullable=True),
        sa.Column("auth_epoch", sa.Integer(), nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=2), nullable=True))
        for column in _account_columns():
            batch.add_column(column)
    with op.batch_alter_table("staff_users") as batch:
        for column in _account_columns():
            batch.add_column(column)
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column("payroll_visible", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("assignee_user", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
    with op.batch_alter_table("supplier_ibans") as batch:
        batch.add_column(sa.Column("confirmed_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("supplier_ibans") as batch:
        batch.drop_column("confirmed_by")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("outcome")
        batch.drop_column("assignee_user")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("payroll_visible")
    with op.batch_alter_table("staff_users") as batch:
        for name in ("auth_epoch", "disabled_by", "disabled_at"):
            batch.drop_column(name)
    with op.batch_alter_table("users") as batch:
        for name in ("auth_epoch", "disabled_by", "disabled_at", "language", "email"):
            batch.drop_column(name)
