"""Plate codes: short, stable per place, signed with a server secret, revocable.

A code is 12 Crockford base-32 characters: a random 5-character serial and a 7-character
signature (HMAC-SHA256 of the serial under the server secret, 35 bits). The signature tells a
code we issued from a forged sticker, a typo or a guess without looking anything up; the plates
table binds the serial to its place and records revocation. The place's content can change freely:
the code names the place, never its content, so a printed plate never needs reprinting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Index, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorplate.models import Plate, PlateScan
from halls.sql import utcnow

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
SERIAL_LEN, SIGNATURE_LEN = 5, 7
CODE_LEN = SERIAL_LEN + SIGNATURE_LEN
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})  # what people misread on a worn plate

Outcome = Literal["ok", "revoked", "unknown", "forged"]

# one active plate per place, enforced by the database
Index(
    "uq_plates_active_place",
    Plate.place_id,
    unique=True,
    sqlite_where=Plate.revoked.is_(None),
    postgresql_where=Plate.revoked.is_(None),
)


@dataclass(frozen=True)
class Verdict:
    code: str  # normalised; "" when the input was not code-shaped at all
    outcome: Outcome
    place_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def normalise_code(raw: str) -> str:
    """Upper-case, without separators, with the letters people misread mapped back."""
    return raw.strip().upper().replace("-", "").replace(" ", "").translate(_READ_AS)


def format_code(code: str) -> str:
    """How a code is printed for staff to read: ABCD-EFGH-JKMN."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


class PlateRegistry:
    def __init__(self, engine: Engine, key: bytes):
        if not key:
            raise ValueError("the plate secret must not be empty")
        self.engine = engine
        self._key = key

    # -- codes -------------------------------------------------------------------------------
    def _signature(self, serial: str) -> str:
        digest = hmac.new(self._key, b"plate:" + serial.encode(), hashlib.sha256).digest()
        bits = int.from_bytes(digest[:8], "big") >> (64 - 5 * SIGNATURE_LEN)
        return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(SIGNATURE_LEN)))

    def _new_code(self) -> str:
        serial = "".join(secrets.choice(ALPHABET) for _ in range(SERIAL_LEN))
        return serial + self._signature(serial)

    def signed(self, code: str) -> bool:
        code = normalise_code(code)
        if len(code) != CODE_LEN or any(c not in ALPHABET for c in code):
            return False
        return hmac.compare_digest(self._signature(code[:SERIAL_LEN]), code[SERIAL_LEN:])

    # -- issuing -----------------------------------------------------------------------------
    def active(self, place_id: str) -> str | None:
        with Session(self.engine) as db:
            return db.scalar(select(Plate.code).where(Plate.place_id == place_id, Plate.revoked.is_(None)))

    def active_codes(self) -> dict[str, str]:
        """place id → its active code."""
        with Session(self.engine) as db:
            rows = db.execute(select(Plate.place_id, Plate.code).where(Plate.revoked.is_(None)))
            return {place: code for place, code in rows}

    def issue(self, place_id: str) -> str:
        """The place's active code, issuing one if it has none. Safe to call from several
        processes at once: the database keeps one active plate per place."""
        for _ in range(5):
            code = self.active(place_id)
            if code:
                return code
            try:
                with Session(self.engine) as db:
                    db.add(Plate(code=self._new_code(), place_id=place_id))
                    db.commit()
            except IntegrityError:
                continue  # another process issued first (or a serial collided): read again
        raise RuntimeError(f"could not issue a plate for {place_id}")

    def revoke(self, place_id: str) -> list[str]:
        """Revoke the place's active code; its printed plates then show the warning page."""
        with Session(self.engine) as db:
            codes = list(
                db.scalars(select(Plate.code).where(Plate.place_id == place_id, Plate.revoked.is_(None)))
            )
            db.execute(
                update(Plate)
                .where(Plate.place_id == place_id, Plate.revoked.is_(None))
                .values(revoked=utcnow())
            )
            db.commit()
            return codes

    def reissue(self, place_id: str) -> str:
        self.revoke(place_id)
        return self.issue(place_id)

    # -- scanning ----------------------------------------------------------------------------
    def verify(self, raw: str) -> Verdict:
        code = normalise_code(raw)[: CODE_LEN + 1]
        if not self.signed(code):
            shaped = len(code) == CODE_LEN and all(c in ALPHABET for c in code)
            return Verdict(code if shaped else "", "forged")
        with Session(self.engine) as db:
            plate = db.get(Plate, code)
        if plate is None:
            return Verdict(code, "unknown")
        if plate.revoked is not None:
            return Verdict(code, "revoked", plate.place_id)
        return Verdict(code, "ok", plate.place_id)

    def record_scan(self, verdict: Verdict, day: dt.date | None = None) -> None:
        """Count the scan for its code, day and outcome. Nothing about the scanner is kept. Only a
        code issued for a place is counted under its own name; every other (forged, mistyped, guessed)
        is counted in one row per day and outcome, so random codes cannot grow the table."""
        day = day or dt.date.today()
        code = verdict.code if verdict.place_id else ""
        where = (PlateScan.day == day, PlateScan.code == code, PlateScan.outcome == verdict.outcome)
        for _ in range(3):
            with Session(self.engine) as db:
                counted = db.execute(update(PlateScan).where(*where).values(count=PlateScan.count + 1))
                if counted.rowcount:
                    db.commit()
                    return
                db.add(
                    PlateScan(
                        day=day,
                        code=code,
                        place_id=verdict.place_id,
                        outcome=verdict.outcome,
                        count=1,
                    )
                )
                try:
                    db.commit()
                    return
                except IntegrityError:
                    continue  # a concurrent first scan of the day made the row: count on it

    def stats(self, since: dt.date | None = None) -> list[dict]:
        """Scans per day, code and outcome, newest day first."""
        query = select(PlateScan.day, PlateScan.code, PlateScan.place_id, PlateScan.outcome, PlateScan.count)
        if since:
            query = query.where(PlateScan.day >= since)
        with Session(self.engine) as db:
            rows = db.execute(query.order_by(PlateScan.day.desc(), PlateScan.count.desc()))
            return [
                {"day": d.isoformat(), "code": c, "place_id": p, "outcome": o, "scans": n}
                for d, c, p, o, n in rows
            ]

    def totals(self) -> dict[str, int]:
        with Session(self.engine) as db:
            rows = db.execute(
                select(PlateScan.outcome, func.sum(PlateScan.count)).group_by(PlateScan.outcome)
            )
            return {o: int(n) for o, n in rows}
