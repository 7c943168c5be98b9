"""without rowid: SQLite keeps blocking keys, search tokens and lookup identifiers in their
primary keys' B-trees

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 23:10:00

Their rows are small and their composite primary keys identify them: a table beside a primary
key index repeats every column, and a bulk load wrote both (see ``WITHOUT_ROWID`` in
app/db/base.py). Each table is copied into its new form, indexes included. PostgreSQL has no
rowid: nothing changes there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("blocking_key", "search_token", "record_identifier")


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)


def _rebuild(*, with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
        ):
            pass
