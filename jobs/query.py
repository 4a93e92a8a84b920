"""Analyst access: SQL over the tables by name, typed or saved (``interest sql`` runs it).

``spark-submit jobs/query.py sql "SELECT ..." | query NAME [-p k=v]`` prints the result as one
JSON line (row counts and the day's reconciliation need no Spark: warehouse/overview.py).
Saved queries live in sql/queries/NAME.sql (warehouse/queries.py); tables are named
``layer.table`` (no paths), because every session registers them (jobs/catalog.py).

Read-only: a statement that would write (INSERT, DELETE, MERGE, DDL, RESTORE, SET, ...) is
refused before it runs, since ``spark.sql`` runs a command as soon as it is called. This guards
against mistakes; who may change the tables is the storage's permissions' business.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator

from py4j.java_gateway import JavaObject
from pyspark.sql import DataFrame, SparkSession

from jobs.catalog import register_tables
from jobs.jobmain import one_line_errors
from jobs.spark import build_session
from warehouse.queries import render_query, settings_params
from warehouse.settings import Settings

# Commands that only read (every other command, and every node named *Statement, writes or
# changes the session).
READ_ONLY_COMMANDS = frozenset({
    "ShowTables", "ShowViews", "ShowColumns", "ShowPartitions", "ShowTableProperties",
    "ShowCreateTable", "ShowFunctions", "ShowNamespaces", "DescribeRelation", "DescribeColumn",
    "DescribeNamespace", "DescribeFunction", "DescribeDeltaHistory", "DescribeDeltaDetailCommand",
    "ExplainCommand",
})  # fmt: skip
WRITES_THAT_ARE_NOT_COMMANDS = frozenset({"InsertIntoDir"})


class WriteRefused(ValueError):
    """Analyst SQL that would write."""


def refuse_writes(spark: SparkSession, text: str) -> None:
    """Raises ``WriteRefused`` if any part of the statement writes (a ``WITH ... INSERT`` too)."""
    plan = spark._jsparkSession.sessionState().sqlParser().parsePlan(text)
    command = spark._jvm.java.lang.Class.forName(
        "org.apache.spark.sql.catalyst.plans.logical.Command"
    )
    for node in _nodes(plan):
        name = node.getClass().getSimpleName()
        writes = command.isInstance(node) or name.endswith("Statement")
        if (writes or name in WRITES_THAT_ARE_NOT_COMMANDS) and name not in READ_ONLY_COMMANDS:
            raise WriteRefused(f"analyst SQL is read-only: {name} refused")


def _nodes(plan: JavaObject) -> Iterator[JavaObject]:
    """A JVM LogicalPlan's nodes, the root first."""
    yield plan
    children = plan.children()
    for i in range(children.size()):
        yield from _nodes(children.apply(i))


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
        title, sql = "result", args.text
    else:
        params = dict(p.split("=", 1) for p in args.param)
        title, sql = args.name, render_query(args.name, {**settings_params(settings), **params})
    refuse_writes(spark, sql)
    show(spark.sql(sql), title, args.limit)


if __name__ == "__main__":
    main()
