"""anonymous ids belong to their source

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:00:00

An anonymous visitor was one id across every source, so one source's identify call could
re-point another source's visitor. Links and event subjects now hold the source's id before
the visitor's (``anonymous:<source id>:<id>``). Links made without a source (an admin's
identify call that named none) cannot be placed and are dropped: their events stay, and the
next identify call links them again. Downgrading strips the source again; two sources'
visitors of the same id then collide, and only the most recent link is kept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SOURCE = "CAST(source_id AS VARCHAR(20))"


def upgrade() -> None:
    with op.batch_alter_table("anonymous_link", schema=None) as batch_op:
        batch_op.alter_column(
            "anonymous_id", existing_type=sa.String(255), type_=sa.String(300), nullable=False
        )
    op.execute("DELETE FROM anonymous_link WHERE source_id IS NULL")
    op.execute(f"UPDATE anonymous_link SET anonymous_id = {_SOURCE} || ':' || anonymous_id")
    op.execute(
        f"UPDATE event SET subject = 'anonymous:' || {_SOURCE} || ':' || substr(subject, 11) "
        "WHERE subject LIKE 'anonymous:%' AND source_id IS NOT NULL"
    )


def downgrade() -> None:
    strip = f"substr(anonymous_id, length({_SOURCE}) + 2)"
    op.execute(
        "DELETE FROM anonymous_link WHERE EXISTS (SELECT 1 FROM anonymous_link AS newer "
        f"WHERE substr(newer.anonymous_id, length(CAST(newer.source_id AS VARCHAR(20))) + 2) "
        f"= {strip} AND newer.linked_at > anonymous_link.linked_at)"
    )
    op.execute(f"UPDATE anonymous_link SET anonymous_id = {strip}")
    op.execute(
        f"UPDATE event SET subject = 'anonymous:' || substr(subject, length({_SOURCE}) + 12) "
        "WHERE subject LIKE 'anonymous:%' AND source_id IS NOT NULL"
    )
    with op.batch_alter_table("anonymous_link", schema=None) as batch_op:
        batch_op.alter_column(
            "anonymous_id", existing_type=sa.String(300), type_=sa.String(255), nullable=False
        )
