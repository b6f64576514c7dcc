"""Conversations and feedback, stored with SQLAlchemy (SQLite by default, any URL configured).

Nothing personal is stored in clear: every message and comment is masked first.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from assistant.engine import ConversationState
from halls.privacy import mask, mask_echoes
from halls.sql import Base, utcnow


class ChatSession(Base):
    __tablename__ = "chat_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    place: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(Text, default="{}")
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ChatTurn(Base):
    __tablename__ = "chat_turns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    sources: Mapped[str] = mapped_column(Text, default="[]")
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str | None] = mapped_column(String(36), index=True)
    turn_id: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[str] = mapped_column(String(8))  # good | bad (好评 / 差评)
    comment: Mapped[str | None] = mapped_column(Text)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SessionStore:
    """Load and save conversation state; sessions idle longer than ``ttl`` are forgotten: their rows
    are deleted by ``expire``, which saving a turn runs at most once every ``SWEEP_SECONDS``."""

    SWEEP_SECONDS = 60.0

    def __init__(self, engine: Engine, ttl_minutes: int = 30):
        self.engine = engine
        self.ttl = dt.timedelta(minutes=ttl_minutes)
        self._sweep_lock = threading.Lock()
        self._next_sweep = 0.0  # time.monotonic() of the next sweep

    def load(self, session_id: str | None, place: str | None) -> tuple[str, ConversationState]:
        with Session(self.engine) as db:
            row = db.get(ChatSession, session_id) if session_id else None
            if row is not None and utcnow() - row.updated <= self.ttl:
                return row.id, ConversationState.model_validate_json(row.state)
            # a new (or expired) conversation: its row is written with its first turn
            return str(uuid.uuid4()), ConversationState()

    def alive(self, session_id: str) -> bool:
        with Session(self.engine) as db:
            row = db.get(ChatSession, session_id)
            return row is not None and utcnow() - row.updated <= self.ttl

    def save_turn(
        self, session_id: str, question: str, answer: str, sources: list[dict], state: ConversationState
    ) -> int:
        with Session(self.engine, expire_on_commit=False) as db:  # the new turn's id needs no re-read
            row = db.get(ChatSession, session_id)
            if row is None:
                row = ChatSession(id=session_id)
                db.add(row)
            row.state = state.model_dump_json()
            row.updated = utcnow()
            db.add(ChatTurn(session_id=session_id, role="user", content=mask(question)))
            turn = ChatTurn(
                session_id=session_id,
                role="assistant",
                content=mask_echoes(answer, question),  # the guide's words stay as they are
                sources=json.dumps(sources, ensure_ascii=False),
            )
            db.add(turn)
            db.commit()
        self._sweep()
        return turn.id

    def _sweep(self) -> None:
        if time.monotonic() < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = time.monotonic() + self.SWEEP_SECONDS
            self.expire()
        finally:
            self._sweep_lock.release()

    def add_feedback(
        self, session_id: str | None, turn_id: int | None, rating: str, comment: str | None
    ) -> int:
        with Session(self.engine) as db:
            row = Feedback(
                session_id=session_id,
                turn_id=turn_id,
                rating=rating,
                comment=mask(comment) if comment else None,
            )
            db.add(row)
            db.commit()
            return row.id

    def expire(self) -> int:
        """Delete sessions idle longer than the TTL (and their turns). Returns how many."""
        cutoff = utcnow() - self.ttl
        with Session(self.engine) as db:
            old = [r for (r,) in db.execute(select(ChatSession.id).where(ChatSession.updated < cutoff))]
            if old:
                db.execute(delete(ChatTurn).where(ChatTurn.session_id.in_(old)))
                db.execute(delete(ChatSession).where(ChatSession.id.in_(old)))
                db.commit()
            return len(old)

    def history(self, session_id: str) -> list[dict]:
        """The stored turns of a conversation that has not expired (masked); [] otherwise."""
        if not self.alive(session_id):
            return []
        return [
            {"role": t.role, "content": t.content, "sources": json.loads(t.sources or "[]")}
            for t in self.turns(session_id)
        ]

    def turns(self, session_id: str) -> list[ChatTurn]:
        with Session(self.engine) as db:
            return list(
                db.scalars(select(ChatTurn).where(ChatTurn.session_id == session_id).order_by(ChatTurn.id))
            )
