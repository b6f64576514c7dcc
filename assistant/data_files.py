"""Reading the assistant's data files (``assistant/data/``): word lists, texts and tables that are
data, not code. Each file is read once per process; callers must not change what they get back.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml


def _path(name: str) -> Traversable:
    return resources.files("assistant").joinpath(f"data/{name}")


@cache
def read_yaml(name: str) -> Any:
    """The parsed YAML file ``assistant/data/<name>``."""
    return yaml.safe_load(_path(name).read_text(encoding="utf-8"))


@cache
def read_lines(name: str) -> tuple[str, ...]:
    """The lines of the text file ``assistant/data/<name>`` without blank lines and ``#`` comments;
    none when the file is missing (an optional list, e.g. the gazetteer)."""
    path = _path(name)
    if not path.is_file():
        return ()
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line.strip() and not line.startswith("#"))
