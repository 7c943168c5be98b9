"""events queued in batches for the workers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 18:00:00

POST /api/v1/events answers once a batch is committed here; workers write the queued batches
to the timeline in micro-batches and keep what came of each.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_batch",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("only_own", sa.Boolean(), nullable=False),
        sa.Column("items", sa.Text(), nullable=True),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "outcome",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_event_batch_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_batch")),
    )
    with op.batch_alter_table("event_batch", schema=None) as batch_op:
        batch_op.create_index("ix_event_batch_status", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_batch", schema=None) as batch_op:
        batch_op.drop_index("ix_event_batch_status")
    op.drop_table("event_batch")
