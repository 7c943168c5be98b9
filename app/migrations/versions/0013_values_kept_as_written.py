"""a record's values that cannot be compared, and why

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:00:00

A value that does not read as its type (a birth date of 1955-11-92) is kept as written and left
out of matching; the record holds which of its values those are, and why, for the customer view
and the data-quality counts of imports, syncs and pushes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "source_record",
        sa.Column(
            "problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            server_default="{}",
        ),
    )


def downgrade() -> None:
    op.drop_column("source_record", "problems")
