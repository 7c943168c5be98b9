"""match values name their source

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 07:00:00

Real time reads the prepared values of every candidate record with its source. Reaching the
source through source_record read a wide row (its raw payload) per candidate: at a million
records, most of those reads missed the cache. The source id now sits next to the values.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("match_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE match_values SET source_id = (SELECT source_record.source_id FROM source_record"
        " WHERE source_record.id = match_values.record_id)"
    )
    with op.batch_alter_table("match_values", schema=None) as batch_op:
        batch_op.alter_column("source_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_match_values_source_id_source", "source", ["source_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("match_values", schema=None) as batch_op:
        batch_op.drop_constraint("fk_match_values_source_id_source", type_="foreignkey")
        batch_op.drop_column("source_id")
