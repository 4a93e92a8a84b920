"""Writes scoped to one run's ``ds``, so that reruns and backfills replace instead of appending."""

from __future__ import annotations

from datetime import date, datetime, timezone

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.config import Settings
from jobs.tables import OPS_JOB_RUNS


def table_columns(spark: SparkSession, name: str) -> list[str]:
    return spark.table(name).columns


def overwrite_day(df: DataFrame, name: str, ds: date, settings: Settings) -> None:
    """Replace the table's ``ds`` partition with ``df`` in one Delta commit."""
    columns = table_columns(df.sparkSession, name)
    (
        df.select(*columns)
        .write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"ds = DATE'{ds.isoformat()}'")
        .save(settings.table_path(name).as_posix())
    )


def delta_table(spark: SparkSession, name: str, settings: Settings) -> DeltaTable:
    return DeltaTable.forPath(spark, settings.table_path(name).as_posix())


def record_run(
    spark: SparkSession, settings: Settings, job: str, ds: date, counts: dict[str, int]
) -> None:
    """Upsert the run's row counts into ops.job_runs (one row per job and day)."""
    row = spark.createDataFrame(
        [(job, ds, {k: int(v) for k, v in counts.items()}, datetime.now(timezone.utc))],
        "job string, ds date, counts map<string, bigint>, finished_at timestamp",
    )
    (
        delta_table(spark, OPS_JOB_RUNS, settings)
        .alias("t")
        .merge(row.alias("s"), "t.job = s.job AND t.ds = s.ds")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def day_bounds(ds: date) -> tuple[F.Column, F.Column]:
    """Start (inclusive) and end (exclusive) of the day as UTC timestamp literals."""
    start = F.lit(datetime.combine(ds, datetime.min.time())).cast("timestamp")
    return start, start + F.expr("INTERVAL 1 DAY")
