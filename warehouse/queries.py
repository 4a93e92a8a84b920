"""Saved analyst queries: sql/queries/NAME.sql, with ``${param}`` placeholders, run by name
(``interest sql NAME -p key=value``). Checked here, before any Spark starts."""

from __future__ import annotations

import re
import string
from pathlib import Path

from warehouse import SQL_DIR
from warehouse.settings import Settings

QUERIES_DIR = SQL_DIR / "queries"


class QueryError(ValueError):
    """A user mistake in a query name or its parameters."""


def query_names() -> list[str]:
    return sorted(p.stem for p in QUERIES_DIR.iterdir() if p.name.endswith(".sql"))


def query_params(text: str) -> list[str]:
    return sorted(set(re.findall(r"\$\{(\w+)\}", text)))


def settings_params(settings: Settings) -> dict[str, str]:
    """Placeholders every query may use, filled from the configuration."""
    return {"half_life_days": str(settings.half_life_days)}


def render_query(name: str, params: dict[str, str], queries_dir: Path = QUERIES_DIR) -> str:
    """The query's SQL with its ``${param}`` placeholders filled; clear errors for mistakes."""
    path = queries_dir / f"{name}.sql"
    if not path.is_file():
        raise QueryError(f"no query named {name!r}; known: {', '.join(query_names())}")
    text = path.read_text()
    missing = [p for p in query_params(text) if p not in params]
    if missing:
        raise QueryError(
            f"query {name} needs --param {' --param '.join(m + '=...' for m in missing)}"
        )
    for key, value in params.items():
        if not re.fullmatch(r"[\w.:\- ]*", value):
            raise QueryError(f"parameter {key}={value!r}: only letters, digits and . : - _ allowed")
    return string.Template(text).substitute(params)
