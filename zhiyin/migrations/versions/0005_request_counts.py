"""Requests per client and minute, for the rate limit shared by every server: request_counts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_counts",
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("minute", sa.Integer(), primary_key=True),
        sa.Column("hits", sa.Integer(), nullable=False),
    )
    op.create_index("ix_request_counts_minute", "request_counts", ["minute"])


def downgrade() -> None:
    op.drop_index("ix_request_counts_minute", table_name="request_counts")
    op.drop_table("request_counts")
