"""ids: stable dense integer ids for users and items, append-only across days.

Ids once given never change, so that embedding rows line up night after night. New ids of a day
are numbered after the current maximum in (first event time, raw id) order; a rerun of the day
finds them already present and adds nothing. Index 0 is reserved (unknown / padding). A range
numbers its new keys in (first day, first event time on that day, raw id) order: the ids its
days one by one would give.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.delta_io import delta_table, read_days
from jobs.jobmain import job_main
from warehouse.settings import Settings
from warehouse.tables import BRONZE_EVENTS, SILVER_ITEM_IDS, SILVER_USER_IDS


def first_seen(events: DataFrame, key: str) -> DataFrame:
    """(key, first_ds, first_ts): the first day a key appears, and its earliest time that day
    (not its earliest time overall: a late event of a later day does not move it)."""
    first_day = Window.partitionBy(key).orderBy("ds")
    per_day = events.groupBy(key, "ds").agg(F.min("ts").alias("first_ts"))
    return (
        per_day.withColumn("_n", F.row_number().over(first_day))
        .where("_n = 1")
        .select(key, F.col("ds").alias("first_ds"), "first_ts")
    )


def new_ids(seen: DataFrame, existing: DataFrame, key: str, idx: str) -> DataFrame:
    """Rows (key, idx, first_ds) for keys of ``seen`` (key, first_ds, first_ts) not in
    ``existing``, numbered after its maximum in (first_ds, first_ts, key) order."""
    start = existing.agg(F.coalesce(F.max(idx), F.lit(0)).alias("_start"))
    fresh = seen.join(existing.select(key), key, "left_anti")
    order = Window.orderBy("first_ds", "first_ts", key)  # one partition: new ids are few
    return fresh.crossJoin(start).select(
        key,
        (F.col("_start") + F.row_number().over(order)).cast("int").alias(idx),
        "first_ds",
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


def run_range(spark: SparkSession, settings: Settings, days: list[date]) -> dict[date, dict]:
    events = read_days(spark, BRONZE_EVENTS, days)
    counts: dict[date, dict[str, int]] = {d: {} for d in days}
    for table, key, idx in (
        (SILVER_USER_IDS, "user_id", "user_idx"),
        (SILVER_ITEM_IDS, "item_id", "item_idx"),
    ):
        existing = spark.table(table)
        rows = new_ids(first_seen(events, key), existing, key, idx).localCheckpoint()
        append_ids(spark, settings, table, rows, key)
        # Counted from the table, not from this run, so a rerun records the same numbers; the
        # total is as of the day (ids first seen up to it), whichever days ran since.
        per_day = {
            r["first_ds"]: int(r["count"])
            for r in spark.table(table).groupBy("first_ds").count().collect()
        }
        for d in days:
            counts[d][f"new_{key}s"] = per_day.get(d, 0)
            counts[d][f"total_{key}s"] = sum(n for ds, n in per_day.items() if ds <= d)
    return counts


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    return run_range(spark, settings, [ds])[ds]


if __name__ == "__main__":
    job_main("ids", run)
