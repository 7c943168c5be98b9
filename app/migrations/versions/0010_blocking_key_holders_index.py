"""blocking keys are indexed with their holders

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 09:00:00

Real time reads the holders of every key a new record generates. With the key alone in the
index, each holder cost a visit to the table, mostly a cache miss at a million records; with
the record id in the index too, the holders come from the index alone.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_blocking_key_key_record_id", "blocking_key", ["key", "record_id"])
    op.drop_index("ix_blocking_key_key", table_name="blocking_key")


def downgrade() -> None:
    op.create_index("ix_blocking_key_key", "blocking_key", ["key"])
    op.drop_index("ix_blocking_key_key_record_id", table_name="blocking_key")
