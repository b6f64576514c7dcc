"""Baseline: conversations (chat_sessions, chat_turns, feedback) and plates (plates, plate_scans).

Databases made before migrations existed already hold some of these tables (they were created
with ``create_all``): a table that exists is adopted as it is, so such a database upgrades cleanly.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())

    if "chat_sessions" not in existing:
        op.create_table(
            "chat_sessions",
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("place", sa.String(64), nullable=True),
            sa.Column("state", sa.Text(), nullable=False),
            sa.Column("created", sa.DateTime(), nullable=False),
            sa.Column("updated", sa.DateTime(), nullable=False),
        )
        op.create_index("ix_chat_sessions_updated", "chat_sessions", ["updated"])
    if "chat_turns" not in existing:
        op.create_table(
            "chat_turns",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column(
                "session_id",
                sa.String(36),
                sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("content", sa.Text(), nullable=False),
            sa.Column("sources", sa.Text(), nullable=False),
            sa.Column("created", sa.DateTime(), nullable=False),
        )
        op.create_index("ix_chat_turns_session_id", "chat_turns", ["session_id"])
    if "feedback" not in existing:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("session_id", sa.String(36), nullable=True),
            sa.Column("turn_id", sa.Integer(), nullable=True),
            sa.Column("rating", sa.String(8), nullable=False),
            sa.Column("comment", sa.Text(), nullable=True),
            sa.Column("created", sa.DateTime(), nullable=False),
        )
        op.create_index("ix_feedback_session_id", "feedback", ["session_id"])
    if "plates" not in existing:
        op.create_table(
            "plates",
            sa.Column("code", sa.String(16), primary_key=True),
            sa.Column("place_id", sa.String(64), nullable=False),
            sa.Column("issued", sa.DateTime(), nullable=False),
            sa.Column("revoked", sa.DateTime(), nullable=True),
        )
        op.create_index("ix_plates_place_id", "plates", ["place_id"])
        # one active plate per place
        op.create_index(
            "uq_plates_active_place",
            "plates",
            ["place_id"],
            unique=True,
            sqlite_where=sa.text("revoked IS NULL"),
            postgresql_where=sa.text("revoked IS NULL"),
        )
    if "plate_scans" not in existing:
        op.create_table(
            "plate_scans",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("code", sa.String(16), nullable=False),
            sa.Column("place_id", sa.String(64), nullable=True),
            sa.Column("outcome", sa.String(8), nullable=False),
            sa.Column("count", sa.Integer(), nullable=False),
            sa.UniqueConstraint("day", "code", "outcome", name="uq_plate_scans_day_code_outcome"),
        )
        op.create_index("ix_plate_scans_day", "plate_scans", ["day"])


def downgrade() -> None:
    for table in ("plate_scans", "plates", "feedback", "chat_turns", "chat_sessions"):
        op.drop_table(table)
