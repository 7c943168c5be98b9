"""the verbose golden record is computed when asked for, not stored

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 09:30:00

Every change to an identity rewrote both documents of its golden record, and the verbose one
(every value with its provenance, every record's attributes) was most of the row and of the
work, for a view few requests ask for. It is now computed from the live records on read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_EMPTY_DETAIL = '{"golden": {}, "values": {}, "records": {}}'


def upgrade() -> None:
    with op.batch_alter_table("golden_record", schema=None) as batch_op:
        batch_op.drop_column("detail")


def downgrade() -> None:
    # The documents come back empty: `huella customers refresh` recomputes them.
    with op.batch_alter_table("golden_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", JSON, nullable=False, server_default=_EMPTY_DETAIL))
