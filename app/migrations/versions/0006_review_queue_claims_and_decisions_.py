"""review queue claims and decisions, undone audit entries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 01:51:17.770720
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undone_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_entry_undone_by_id_audit_entry"),
            "audit_entry",
            ["undone_by_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decision", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("change_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_review_item_queue", ["status", "priority", "id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_review_item_change_id_audit_entry"),
            "audit_entry",
            ["change_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_review_item_change_id_audit_entry"), type_="foreignkey"
        )
        batch_op.drop_index("ix_review_item_queue")
        batch_op.drop_column("change_id")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("decision")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("priority")

    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_audit_entry_undone_by_id_audit_entry"), type_="foreignkey"
        )
        batch_op.drop_column("undone_by_id")
