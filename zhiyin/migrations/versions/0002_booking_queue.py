"""Appointments and queues: slot_counts, bookings, ticket_counters, tickets, queue_versions, staff_tokens.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slot_counts",
        sa.Column("place_id", sa.String(64), primary_key=True),
        sa.Column("group_letter", sa.String(1), primary_key=True),
        sa.Column("slot", sa.DateTime(), primary_key=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        # the last line of defence: no update can push a slot over its capacity
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_counts_capacity"),
    )
    op.create_table(
        "bookings",
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("place_id", sa.String(64), nullable=False),
        sa.Column("group_letter", sa.String(1), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("slot", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("name_masked", sa.String(32), nullable=False),
        sa.Column("phone_hash", sa.String(64), nullable=False),
        sa.Column("phone_last4", sa.String(4), nullable=False),
        sa.Column("phone_masked", sa.String(16), nullable=False),
        sa.Column("id_hash", sa.String(64), nullable=True),
        sa.Column("id_last4", sa.String(4), nullable=True),
        sa.Column("idempotency_key", sa.String(64), nullable=True, unique=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("cancelled", sa.DateTime(), nullable=True),
        sa.Column("checked_in", sa.DateTime(), nullable=True),
        sa.Column("replaced_by", sa.String(8), nullable=True),
    )
    op.create_index("ix_bookings_place_slot", "bookings", ["place_id", "slot"])
    op.create_index(
        "uq_bookings_active_phone_item_day",
        "bookings",
        ["phone_hash", "item_id", "day"],
        unique=True,
        sqlite_where=sa.text("status != 'cancelled'"),
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_table(
        "ticket_counters",
        sa.Column("place_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("group_letter", sa.String(1), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("place_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("group_letter", sa.String(1), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("booking_code", sa.String(8), nullable=True, unique=True),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("window", sa.String(16), nullable=True),
        sa.Column("issued", sa.DateTime(), nullable=False),
        sa.Column("called", sa.DateTime(), nullable=True),
        sa.Column("last_called", sa.DateTime(), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("finished", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("place_id", "day", "group_letter", "number", name="uq_tickets_number"),
    )
    op.create_index("ix_tickets_queue", "tickets", ["place_id", "day", "status"])
    op.create_table(
        "queue_versions",
        sa.Column("place_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("place_id", sa.String(64), nullable=True),
        sa.Column("window", sa.String(16), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("revoked", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    for table in ("staff_tokens", "queue_versions", "tickets", "ticket_counters", "bookings", "slot_counts"):
        op.drop_table(table)
