"""the suppression list of erased people

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00

Erasure adds keyed digests (HMAC-SHA256, the key outside the database) of an erased person's
record ids, e-mails and phones; every ingest path drops what carries one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suppression",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("erasure_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["erasure_id"],
            ["audit_entry.id"],
            name=op.f("fk_suppression_erasure_id_audit_entry"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_suppression")),
    )
    op.create_index(op.f("ix_suppression_key_id"), "suppression", ["key_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_suppression_key_id"), table_name="suppression")
    op.drop_table("suppression")
