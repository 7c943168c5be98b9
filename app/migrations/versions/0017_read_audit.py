"""reads of customers' data, audited

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 12:00:00

Every profile read, lookup, search, timeline and explanation by a role whose reads are audited
(agents, by default), and every reveal of masked values with its reason: who, when, which route,
which customers. Kept apart from audit_entry (changes), as reads far outnumber changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "read_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("route", sa.String(300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_read_entry")),
    )
    op.create_index(op.f("ix_read_entry_at"), "read_entry", ["at"])
    op.create_table(
        "read_subject",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("identity_public_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["read_entry.id"],
            name=op.f("fk_read_subject_entry_id_read_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "identity_public_id", name=op.f("pk_read_subject")),
    )
    op.create_index(
        op.f("ix_read_subject_identity_public_id"), "read_subject", ["identity_public_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_read_subject_identity_public_id"), table_name="read_subject")
    op.drop_table("read_subject")
    op.drop_index(op.f("ix_read_entry_at"), table_name="read_entry")
    op.drop_table("read_entry")
