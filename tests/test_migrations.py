"""The schema comes only from the Alembic migrations, and they build exactly what the models say."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, insert, inspect, select

from zhiyin.db import (
    alembic_config,
    create_db_engine,
    head_revision,
    migrate,
    model_metadata,
    schema_revision,
)

BEFORE_MIGRATIONS = ("chat_sessions", "chat_turns", "feedback", "plates", "plate_scans")


def differences(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), model_metadata()
        )


def test_the_migrated_schema_matches_the_models(db_engine):
    assert schema_revision(db_engine) == head_revision()
    assert differences(db_engine) == []
    names = set(inspect(db_engine).get_table_names())
    assert {"bookings", "slot_counts", "tickets", "staff_tokens", *BEFORE_MIGRATIONS} <= names


def test_a_missing_index_would_show_as_a_difference(db_engine):
    """The comparison above can fail: drop one index and it is reported."""
    with db_engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX uq_bookings_active_phone_item_day")
    assert [d[0] for d in differences(db_engine)] == ["add_index"]


def test_a_database_made_before_migrations_is_adopted(db_url):
    engine = create_db_engine(db_url)
    try:
        old = MetaData()  # what create_all used to make, with a plate already issued
        for name in BEFORE_MIGRATIONS:
            model_metadata().tables[name].to_metadata(old)
        old.create_all(engine)
        plates = old.tables["plates"]
        with engine.begin() as conn:
            conn.execute(
                insert(plates).values(
                    code="ABCDE1234567", place_id="yc-taoxi", issued=dt.datetime(2026, 1, 1)
                )
            )
        migrate(engine)
        assert schema_revision(engine) == head_revision()
        assert differences(engine) == []
        with engine.connect() as conn:
            assert conn.execute(select(plates.c.code)).scalars().all() == ["ABCDE1234567"]
    finally:
        engine.dispose()


def test_migrations_go_down_and_up_again(db_engine):
    with db_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    assert "bookings" not in inspect(db_engine).get_table_names()
    with db_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert differences(db_engine) == []


def test_processes_starting_together_migrate_once(db_url):
    """Three servers starting at the same moment on a new database: all come up, one schema."""
    script = (
        "import sys; from zhiyin.db import create_db_engine, migrate; migrate(create_db_engine(sys.argv[1]))"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", script, db_url], stderr=subprocess.PIPE) for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in starts]
    assert [p.returncode for p in starts] == [0, 0, 0], errors
    engine = create_db_engine(db_url)
    try:
        assert schema_revision(engine) == head_revision() and differences(engine) == []
    finally:
        engine.dispose()
