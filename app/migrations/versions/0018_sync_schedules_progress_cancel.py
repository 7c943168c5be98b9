"""scheduled syncs, backoff, run progress and cancelling

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 16:00:00

A source may carry a schedule, with the time of its next sync and how many syncs failed in a
row (the scheduler backs off after each). A run records when it last committed a page and
whether someone asked it to stop.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index("ix_source_next_sync_at", ["next_sync_at"], unique=False)
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.drop_column("cancel_requested_at")
        batch_op.drop_column("progress_at")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_index("ix_source_next_sync_at")
        batch_op.drop_column("consecutive_failures")
        batch_op.drop_column("next_sync_at")
        batch_op.drop_column("schedule")
