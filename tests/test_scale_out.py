"""Several servers on one database: shared secrets required, one rate limit across processes, one
purge at a time, a readiness check, and ``zhiyin serve --workers``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from zhiyin.services import Services
from zhiyin.settings import Settings, SettingsError

ZHIYIN = str(Path(sys.executable).parent / "zhiyin")
PG_URL = "postgresql+psycopg://zhiyin@db.invalid/zhiyin"  # never reached: refused before connecting


def test_a_shared_database_without_both_secrets_is_refused_naming_them(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=PG_URL, plate_secret="p")
    with pytest.raises(SettingsError) as refused:
        Services(settings).prepare()
    message = str(refused.value)
    assert "ZHIYIN_PLATE_SECRET" in message and "ZHIYIN_BOOKING_SECRET" in message
    assert "missing: ZHIYIN_BOOKING_SECRET" in message
    assert not (tmp_path / "booking-secret").exists()  # no per-server secret was made
    Settings(data_dir=tmp_path).check_secrets()  # SQLite keeps its made-once secrets
    Settings(data_dir=tmp_path, database_url=PG_URL, plate_secret="p", booking_secret="b").check_secrets()


def test_zhiyin_serve_refuses_a_shared_database_without_secrets_in_one_line(cli_env):
    env = {**cli_env, "ZHIYIN_DATABASE_URL": PG_URL}
    run = subprocess.run([ZHIYIN, "serve"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "ZHIYIN_PLATE_SECRET and ZHIYIN_BOOKING_SECRET" in run.stderr
    assert "Traceback" not in run.stderr
