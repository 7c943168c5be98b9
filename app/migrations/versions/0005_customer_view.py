"""customer view: golden records, traits, search tokens, event subjects, anonymous links

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-29 00:28:57.110041
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "anonymous_link",
        sa.Column("anonymous_id", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_anonymous_link_source_id_source"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("anonymous_id", name=op.f("pk_anonymous_link")),
    )
    with op.batch_alter_table("anonymous_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_anonymous_link_subject"), ["subject"], unique=False)

    op.create_table(
        "customer_traits",
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("traits", JSON, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identity.id"],
            name=op.f("fk_customer_traits_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_customer_traits")),
    )
    op.create_table(
        "golden_record",
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("search_names", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identity.id"],
            name=op.f("fk_golden_record_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_golden_record")),
    )
    op.create_table(
        "search_token",
        sa.Column("token", sa.String(length=100), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identity.id"],
            name=op.f("fk_search_token_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", "identity_id", name=op.f("pk_search_token")),
    )
    with op.batch_alter_table("search_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_search_token_identity_id"), ["identity_id"], unique=False
        )

    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=300), nullable=True))
        batch_op.create_index(
            "ix_event_subject_time", ["subject", "occurred_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_subject_time")
        batch_op.drop_column("subject")

    with op.batch_alter_table("search_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_token_identity_id"))
    op.drop_table("search_token")
    op.drop_table("golden_record")
    op.drop_table("customer_traits")
    with op.batch_alter_table("anonymous_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anonymous_link_subject"))
    op.drop_table("anonymous_link")
