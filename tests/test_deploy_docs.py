"""docs/deploy.md and docs/compose.yaml name only settings that exist (a renamed setting would
otherwise leave a hall's compose file silently ignoring it)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from zhiyin.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_deployment_docs_name_only_real_settings():
    settings = {f"ZHIYIN_{name.upper()}" for name in Settings.model_fields}
    for name in ("deploy.md", "compose.yaml", "env.example", "Dockerfile"):
        named = set(re.findall(r"ZHIYIN_[A-Z_]*[A-Z]", (DOCS / name).read_text(encoding="utf-8")))
        assert named and named <= settings, (name, sorted(named - settings))


def test_the_compose_file_runs_two_servers_on_shared_postgres_and_chroma_with_the_secrets():
    compose = yaml.safe_load((DOCS / "compose.yaml").read_text(encoding="utf-8"))
    servers = [s for name, s in compose["services"].items() if name.startswith("zhiyin-")]
    assert len(servers) == 2
    for server in servers:
        env = server["environment"]
        assert env["ZHIYIN_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["ZHIYIN_CHROMA_URL"] == "http://chroma:8000"
        assert {"ZHIYIN_PLATE_SECRET", "ZHIYIN_BOOKING_SECRET"} <= set(env)
    assert compose["services"]["chroma"]["command"][:2] == ["chroma", "run"]
