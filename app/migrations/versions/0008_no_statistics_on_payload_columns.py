"""no planner statistics on JSON payload columns

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 04:40:00

Nothing filters or joins on these columns, yet ANALYZE detoasted a sample of every payload to
describe them: most of its time on the tables a sync fills. A statistics target of 0 leaves
them out (PostgreSQL only; SQLite keeps no per-column statistics target).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYLOADS = {
    "source_record": ("raw", "attributes"),
    "event": ("properties",),
    "record_reject": ("raw",),
    "match_values": ("values",),
    "match_edge": ("contributions",),
    "golden_record": ("summary", "detail"),
    "customer_traits": ("traits",),
    "audit_entry": ("before", "after"),
    "review_item": ("detail",),
}


def _set_statistics(target: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in PAYLOADS.items():
        for column in columns:
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STATISTICS {target}')


def upgrade() -> None:
    _set_statistics(0)


def downgrade() -> None:
    _set_statistics(-1)  # back to the server's default target
