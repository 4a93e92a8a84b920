"""Analyst access: SQL over the tables by name, typed or saved (``interest sql`` runs it).

``spark-submit jobs/query.py sql "SELECT ..." | query NAME [-p k=v]`` prints the result as one
JSON line (row counts and the day's reconciliation need no Spark: warehouse/overview.py).
Saved queries live in sql/queries/NAME.sql (warehouse/queries.py); tables are named
``layer.table`` (no paths), because every session registers them (jobs/catalog.py).
"""

from __future__ import annotations

import argparse
import json

from pyspark.sql import DataFrame, SparkSession

from jobs.catalog import register_tables
from jobs.jobmain import one_line_errors
from jobs.spark import build_session
from warehouse.queries import render_query, settings_params
from warehouse.settings import Settings


def show(df: DataFrame, title: str, limit: int = 50) -> None:
    """Prints the result as one JSON line, ``{"title", "columns", "rows"}`` (values as text),
    for the CLI to render."""
    rows = [["" if v is None else str(v) for v in row] for row in df.limit(limit).collect()]
    print(json.dumps({"title": title, "columns": df.columns, "rows": rows}), flush=True)


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
