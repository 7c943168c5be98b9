"""match values, link constraints, review items, model versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 01:13:50.220075
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_version")),
    )
    op.create_table(
        "link_constraint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("left_id", sa.Integer(), nullable=False),
        sa.Column("right_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("left_id < right_id", name=op.f("ck_link_constraint_ordered")),
        sa.ForeignKeyConstraint(
            ["left_id"],
            ["source_record.id"],
            name=op.f("fk_link_constraint_left_id_source_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["right_id"],
            ["source_record.id"],
            name=op.f("fk_link_constraint_right_id_source_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_constraint")),
        sa.UniqueConstraint("left_id", "right_id", name="uq_link_constraint_pair"),
    )
    with op.batch_alter_table("link_constraint", schema=None) as batch_op:
        batch_op.create_index("ix_link_constraint_right", ["right_id"], unique=False)

    op.create_table(
        "match_values",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column(
            "values",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["source_record.id"],
            name=op.f("fk_match_values_record_id_source_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_match_values")),
    )
    op.create_table(
        "review_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("left_record_id", sa.Integer(), nullable=True),
        sa.Column("right_record_id", sa.Integer(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["left_record_id"],
            ["source_record.id"],
            name=op.f("fk_review_item_left_record_id_source_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["right_record_id"],
            ["source_record.id"],
            name=op.f("fk_review_item_right_record_id_source_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_item")),
    )
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_item_pair", ["left_record_id", "right_record_id"], unique=False
        )
        batch_op.create_index("ix_review_item_status_kind", ["status", "kind"], unique=False)

    with op.batch_alter_table("match_edge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_edge_right_id"))
        batch_op.create_index(
            "ix_match_edge_left_probability", ["left_id", "probability"], unique=False
        )
        batch_op.create_index(
            "ix_match_edge_right_probability", ["right_id", "probability"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("match_edge", schema=None) as batch_op:
        batch_op.drop_index("ix_match_edge_right_probability")
        batch_op.drop_index("ix_match_edge_left_probability")
        batch_op.create_index(batch_op.f("ix_match_edge_right_id"), ["right_id"], unique=False)

    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.drop_index("ix_review_item_status_kind")
        batch_op.drop_index("ix_review_item_pair")

    op.drop_table("review_item")
    op.drop_table("match_values")
    with op.batch_alter_table("link_constraint", schema=None) as batch_op:
        batch_op.drop_index("ix_link_constraint_right")

    op.drop_table("link_constraint")
    op.drop_table("model_version")
