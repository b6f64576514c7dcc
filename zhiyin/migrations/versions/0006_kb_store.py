"""Knowledge bases in the database, for several servers: kb_versions, kb_current, kb_served, kb_places.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_versions",
        sa.Column("kb", sa.String(41), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("build", sa.String(16), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("chunks", sa.Text(), nullable=False),
        sa.Column("bm25_meta", sa.Text(), nullable=False),
        sa.Column("bm25_matrix", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "kb_current",
        sa.Column("kb", sa.String(41), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("build", sa.String(16), nullable=False),
        sa.Column("changed", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "kb_served",
        sa.Column("kb", sa.String(41), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("server", sa.String(100), primary_key=True),
        sa.Column("seen", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "kb_places",
        sa.Column("kb", sa.String(41), primary_key=True),
        sa.Column("places", sa.Text(), nullable=False),
        sa.Column("changed", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kb_places")
    op.drop_table("kb_served")
    op.drop_table("kb_current")
    op.drop_table("kb_versions")
