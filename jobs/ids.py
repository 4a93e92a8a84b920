"""ids: stable dense integer ids for users and items, append-only across days.

Ids once given never change, so that embedding rows line up night after night. New ids of a day
are numbered after the current maximum in (first event time, raw id) order; a rerun of the day
finds them already present and adds nothing. Index 0 is reserved (unknown / padding).
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.config import Settings
from jobs.delta_io import delta_table, read_day, record_run
from jobs.jobmain import job_main
from jobs.tables import BRONZE_EVENTS, SILVER_ITEM_IDS, SILVER_USER_IDS


def new_ids(first_seen: DataFrame, existing: DataFrame, key: str, idx: str, ds: date) -> DataFrame:
    """Rows (key, idx, first_ds) for keys of ``first_seen`` (key, first_ts) not in ``existing``."""
    start = existing.agg(F.coalesce(F.max(idx), F.lit(0)).alias("_start"))
    fresh = first_seen.join(existing.select(key), key, "left_anti")
    order = Window.orderBy("first_ts", key)  # one partition: a day's new ids are few
    return fresh.crossJoin(start).select(
        key,
        (F.col("_start") + F.row_number().over(order)).cast("int").alias(idx),
        F.lit(ds).alias("first_ds"),
    )


def append_ids(
    spark: SparkSession, settings: Settings, table: str, rows: DataFrame, key: str
) -> None:
    """Insert-only MERGE on the raw id: a concurrent or repeated run can never add a key twice."""
    (
        delta_table(spark, table, settings)
        .alias("t")
        .merge(rows.alias("s"), f"t.{key} = s.{key}")
        .whenNotMatchedInsertAll()
        .execute()
    )


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    events = read_day(spark, BRONZE_EVENTS, ds)
    counts = {}
    for table, key, idx in (
        (SILVER_USER_IDS, "user_id", "user_idx"),
        (SILVER_ITEM_IDS, "item_id", "item_idx"),
    ):
        existing = spark.table(table)
        first_seen = events.groupBy(key).agg(F.min("ts").alias("first_ts"))
        rows = new_ids(first_seen, existing, key, idx, ds).localCheckpoint()
        append_ids(spark, settings, table, rows, key)
        ids = spark.table(table)
        # Counted from the table, not from this run, so a rerun records the same numbers.
        counts[f"new_{key}s"] = ids.where(F.col("first_ds") == F.lit(ds)).count()
        counts[f"total_{key}s"] = ids.count()
    record_run(spark, settings, "ids", ds, counts)
    return counts


if __name__ == "__main__":
    job_main("ids", run)
