"""Wrong tries at a booking's last four phone digits, counted per code and hour: booking_tries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_tries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("tried", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_booking_tries_code_tried", "booking_tries", ["code", "tried"])


def downgrade() -> None:
    op.drop_index("ix_booking_tries_code_tried", table_name="booking_tries")
    op.drop_table("booking_tries")
