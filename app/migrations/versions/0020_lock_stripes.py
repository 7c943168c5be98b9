"""resolution locks on the parts of the store a change touches

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 17:00:00

Changes to identities no longer take one lock on the whole store: each locks what it touches
(records, identities, blocking keys, identifiers), as row locks on stripes of this table,
made as they are first needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lock_stripe",
        sa.Column("stripe", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("stripe", name=op.f("pk_lock_stripe")),
    )


def downgrade() -> None:
    op.drop_table("lock_stripe")
