"""What the warehouse holds, read from the Delta logs without Spark (a second, not a JVM start):
every table's row count and version, and one day's reconciliation (ops.job_runs).

Row counts come from the live files' Parquet footers (warehouse/lake.py): exact, because the
warehouse never writes deletion vectors (a table with them is refused, not miscounted).
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from warehouse.lake import TableNotReady, live_files, open_table, read_arrow, row_count
from warehouse.settings import Settings
from warehouse.tables import OPS_JOB_RUNS, TABLES


class TableSize(NamedTuple):
    table: str
    rows: int | None  # None: not created yet
    delta_version: int | None
    location: str


class RunCount(NamedTuple):
    job: str
    ds: date
    count_name: str
    value: int


def table_sizes(settings: Settings) -> list[TableSize]:
    sizes = []
    for name in TABLES:
        location = settings.table_path(name).as_posix()
        try:
            table = open_table(settings, name)
        except TableNotReady:
            sizes.append(TableSize(name, None, None, location))
            continue
        sizes.append(TableSize(name, row_count(live_files(table)), table.version(), location))
    return sizes


def reconciliation(settings: Settings, ds: date | None = None) -> list[RunCount]:
    """The row counts every job recorded for ``ds`` (default: the latest day in ops.job_runs)."""
    try:
        runs = read_arrow(settings, OPS_JOB_RUNS, ["job", "ds", "counts"]).to_pylist()
    except TableNotReady:
        return []
    day = ds or max((r["ds"] for r in runs), default=None)
    return sorted(
        RunCount(r["job"], r["ds"], name, value)
        for r in runs
        if r["ds"] == day
        for name, value in r["counts"]
    )
