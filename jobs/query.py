"""Analyst access: list the tables, run SQL over them by name, summarise a day.

``spark-submit jobs/query.py tables | sql "SELECT ..." | query NAME [-p k=v] | summary [--ds D]``
Queries live in sql/queries/NAME.sql with ``${param}`` placeholders; tables are named
``layer.table`` (no paths), because every session registers them (jobs/tables.py).
"""

from __future__ import annotations

import argparse
import os
import re
import string
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from rich.console import Console
from rich.table import Table

from jobs.config import REPO_ROOT, Settings
from jobs.jobmain import one_line_errors
from jobs.spark import build_session
from jobs.tables import OPS_JOB_RUNS, TABLES, VIEWS, register_tables

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
    rows = df.limit(limit).collect()
    table = Table(title=title)
    for column in df.columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[_cell(v) for v in row])
    Console(width=int(os.environ.get("COLUMNS", 160))).print(table)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def table_overview(spark: SparkSession, settings: Settings) -> DataFrame:
    rows = []
    for name in TABLES:
        path = settings.table_path(name).as_posix()
        version = DeltaTable.forPath(spark, path).history(1).first()["version"]
        rows.append((name, spark.table(name).count(), int(version), path))
    return spark.createDataFrame(
        rows, "table string, rows long, delta_version long, location string"
    )


def last_day_reconciliation(spark: SparkSession, ds: str | None) -> DataFrame:
    runs = spark.table(OPS_JOB_RUNS)
    day = ds or runs.agg(F.max("ds")).first()[0]
    return (
        runs.where(F.col("ds") == F.lit(day))
        .select("job", "ds", F.explode("counts").alias("count_name", "value"))
        .orderBy("job", "count_name")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="query", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("tables")
    sql = sub.add_parser("sql")
    sql.add_argument("text")
    named = sub.add_parser("query")
    named.add_argument("name")
    named.add_argument("-p", "--param", action="append", default=[])
    summary = sub.add_parser("summary")
    summary.add_argument("--ds")
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
    if args.command == "tables":
        show(table_overview(spark, settings), "Delta tables", limit=100)
        show(spark.createDataFrame([(v,) for v in VIEWS], "view string"), "Views")
    elif args.command == "sql":
        show(spark.sql(args.text), "result", args.limit)
    elif args.command == "query":
        params = dict(p.split("=", 1) for p in args.param)
        sql = render_query(args.name, {**settings_params(settings), **params})
        show(spark.sql(sql), args.name, args.limit)
    else:
        show(table_overview(spark, settings), "Delta tables", limit=100)
        show(last_day_reconciliation(spark, args.ds), "Reconciliation of the last day", 200)
        print(f"warehouse: {settings.home}")


if __name__ == "__main__":
    main()
