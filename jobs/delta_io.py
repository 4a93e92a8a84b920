"""Writes scoped to one run's ``ds``, so that reruns and backfills replace instead of appending."""

from __future__ import annotations

from datetime import UTC, date, datetime

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.config import Settings
from jobs.tables import OPS_JOB_RUNS


def overwrite_day(df: DataFrame, name: str, ds: date, settings: Settings) -> None:
    """Replace the table's ``ds`` partition with ``df`` in one Delta commit."""
    (
        df.select(*df.sparkSession.table(name).columns)
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
    """Replace the (job, ds) row of ops.job_runs with this run's row counts."""
    row = spark.createDataFrame(
        [(job, ds, {k: int(v) for k, v in counts.items()}, datetime.now(UTC))],
        "job string, ds date, counts map<string, bigint>, finished_at timestamp",
    )
    (
        row.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"job = '{job}' AND ds = DATE'{ds.isoformat()}'")
        .save(settings.table_path(OPS_JOB_RUNS).as_posix())
    )


def read_day(spark: SparkSession, name: str, ds: date) -> DataFrame:
    """One day's partition of a table."""
    return spark.table(name).where(F.col("ds") == F.lit(ds))
