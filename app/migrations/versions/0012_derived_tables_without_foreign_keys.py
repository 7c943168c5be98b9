"""derived tables keep no foreign keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 11:45:00

Blocking keys, match values, lookup identifiers, edges, golden records, search tokens and traits
are computed from the records and rewritten on every change. A foreign key made PostgreSQL run
a trigger and lock the referenced row for each row written: real-time resolution writes
thousands a page, and those checks were about 6% of its time at a million records. Resolution
and the customer view delete these rows themselves, and `huella resolve --full` and `huella
customers refresh` rebuild them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referenced table): each foreign key dropped, named by the naming convention.
_KEYS = [
    ("blocking_key", "record_id", "source_record"),
    ("match_values", "record_id", "source_record"),
    ("match_values", "source_id", "source"),
    ("record_identifier", "record_id", "source_record"),
    ("match_edge", "left_id", "source_record"),
    ("match_edge", "right_id", "source_record"),
    ("golden_record", "identity_id", "identity"),
    ("search_token", "identity_id", "identity"),
    ("customer_traits", "identity_id", "identity"),
]


def _name(table: str, column: str, referenced: str) -> str:
    return f"fk_{table}_{column}_{referenced}"


def upgrade() -> None:
    for table, column, referenced in _KEYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(_name(table, column, referenced), type_="foreignkey")


def downgrade() -> None:
    # Rows whose record or identity is gone would stop the keys from coming back: they go first.
    for table, column, referenced in _KEYS:
        op.execute(f"DELETE FROM {table} WHERE {column} NOT IN (SELECT id FROM {referenced})")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(
                _name(table, column, referenced),
                referenced,
                [column],
                ["id"],
                ondelete="CASCADE",
            )
