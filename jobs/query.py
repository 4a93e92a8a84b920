"""Analyst access: SQL over the tables by name, typed or saved.

``spark-submit jobs/query.py sql "SELECT ..." | query NAME [-p k=v]`` (row counts and the day's
reconciliation need no Spark: jobs/overview.py).
Queries live in sql/queries/NAME.sql with ``${param}`` placeholders; tables are named
``layer.table`` (no paths), because every session registers them (jobs/tables.py).
"""

from __future__ import annotations

import argparse
import re
import string
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from jobs.config import REPO_ROOT, Settings
from jobs.jobmain import one_line_errors
from jobs.overview import render, wide_console
from jobs.spark import build_session
from jobs.tables import register_tables

QUERIES_DIR = REPO_ROOT / "sql" / "queries"


class QueryError(ValueError):
    """A user mistake in a query name or its parameters."""


def query_names() -> list[str]:
    return sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))


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


def show(df: DataFrame, title: str, limit: int = 50) -> None:
    rows = [tuple(_cell(v) for v in row) for row in df.limit(limit).collect()]
    wide_console().print(render(title, df.columns, rows))


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="query", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sql = sub.add_parser("sql")
    sql.add_argument("text")
    named = sub.add_parser("query")
    named.add_argument("name")
    named.add_argument("-p", "--param", action="append", default=[])
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args(argv)

    settings = Settings()
    spark = build_session("interest-query", settings)
    try:
        with one_line_errors(args.command):
            register_tables(spark, settings)
            run_command(spark, settings, args)
    finally:
        spark.stop()


def run_command(spark: SparkSession, settings: Settings, args: argparse.Namespace) -> None:
    if args.command == "sql":
        show(spark.sql(args.text), "result", args.limit)
    else:
        params = dict(p.split("=", 1) for p in args.param)
        sql = render_query(args.name, {**settings_params(settings), **params})
        show(spark.sql(sql), args.name, args.limit)


if __name__ == "__main__":
    main()
