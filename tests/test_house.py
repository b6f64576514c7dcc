"""The house's one-way flow, checked on the source: each wing imports only the wings below it.

halls  ←  knowledge  ←  assistant  ←  zhiyin (services, use-cases, web, CLI)
   ↖────  doorplate  ←──────────────────┘
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WINGS = ("halls", "knowledge", "assistant", "doorplate", "eval", "zhiyin")
MAY_IMPORT = {
    "halls": set(),
    "knowledge": {"halls"},
    "assistant": {"halls", "knowledge"},
    "doorplate": {"halls", "knowledge"},
    "eval": {"halls", "knowledge", "assistant", "doorplate"},
}


def imported_wings(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in WINGS)
    return found


@pytest.mark.parametrize("wing", sorted(MAY_IMPORT))
def test_a_wing_imports_only_the_wings_below_it(wing):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_wings(path) - MAY_IMPORT[wing] - {wing})
        for path in (ROOT / wing).rglob("*.py")
    }
    assert {path: wings for path, wings in wrong.items() if wings} == {}


def test_routes_reach_services_only_through_the_dependencies():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "zhiyin" / "web").rglob("*.py")
        if "app.state" in path.read_text(encoding="utf-8") and path.name != "deps.py"
    ]
    assert offenders == []
