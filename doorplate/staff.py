"""Who may use the staff endpoints: the admin token (``ZHIYIN_ADMIN_TOKEN``) or a clerk's token.

A clerk token is made by ``zhiyin staff add NAME [--place HALL] [--window A05]``, shown once, and
kept only as its SHA-256 (a token is 32 random bytes, so a plain hash is enough). A clerk bound to a
hall may act only there; bound to a window, may call only to that window. With neither an admin
token nor any clerk token configured, every staff endpoint answers 401.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from doorplate.models import StaffToken
from halls.sql import utcnow

TOKEN_PREFIX = "zs_"
staff_tokens = StaffToken.__table__


@dataclass(frozen=True)
class Staff:
    name: str
    admin: bool = False
    place_id: str | None = None  # the hall a clerk is bound to
    window: str | None = None  # the window a clerk calls to

    def may_act_at(self, hall_id: str) -> bool:
        return self.admin or self.place_id is None or self.place_id == hall_id

    def may_call_to(self, window: str) -> bool:
        return self.admin or self.window is None or self.window == window


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffDirectory:
    def __init__(self, engine: Engine, admin_token: str | None = None):
        self.engine = engine
        self._admin = admin_token.encode() if admin_token else None

    def identify(self, token: str | None) -> Staff | None:
        """The staff member a bearer token belongs to, or None."""
        if not token:
            return None
        if self._admin is not None and hmac.compare_digest(token.encode(), self._admin):
            return Staff("admin", admin=True)
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(staff_tokens.c.name, staff_tokens.c.place_id, staff_tokens.c.window).where(
                    staff_tokens.c.token_hash == token_hash(token), staff_tokens.c.revoked.is_(None)
                )
            ).first()
        return Staff(row.name, False, row.place_id, row.window) if row else None

    def add(self, name: str, place_id: str | None = None, window: str | None = None) -> str:
        """A new clerk token (returned once, never stored in clear)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(staff_tokens).values(
                        name=name,
                        token_hash=token_hash(token),
                        place_id=place_id,
                        window=window,
                        created=utcnow(),
                    )
                )
        except IntegrityError as exc:
            raise ValueError(f"a clerk named {name!r} exists already (revoke it first)") from exc
        return token

    def revoke(self, name: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(staff_tokens)
                .where(staff_tokens.c.name == name, staff_tokens.c.revoked.is_(None))
                .values(revoked=utcnow(), name=f"{name}#revoked-{secrets.token_hex(3)}")
            )
            return done.rowcount == 1

    def list(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    staff_tokens.c.name,
                    staff_tokens.c.place_id,
                    staff_tokens.c.window,
                    staff_tokens.c.created,
                )
                .where(staff_tokens.c.revoked.is_(None))
                .order_by(staff_tokens.c.name)
            )
            return [dict(r._mapping) for r in rows]
