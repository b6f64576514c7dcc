"""The doorplate wing's tables: issued plate codes and daily scan counts (no personal data)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Plate(Base):
    """A code issued for a place. At most one active (not revoked) plate per place."""

    __tablename__ = "plates"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    place_id: Mapped[str] = mapped_column(String(64), index=True)
    issued: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class PlateScan(Base):
    """How often a code was opened on a day, and what it turned out to be."""

    __tablename__ = "plate_scans"
    __table_args__ = (UniqueConstraint("day", "code", "outcome", name="uq_plate_scans_day_code_outcome"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    code: Mapped[str] = mapped_column(String(16))  # "" for a code too malformed to keep
    place_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(8))  # ok | revoked | unknown | forged
    count: Mapped[int] = mapped_column(Integer, default=0)
