"""ids: stable dense integer ids for users and items, append-only across days.

Ids once given never change, so that embedding rows line up night after night. New ids of a day
are numbered after the current maximum in (first event time, raw id) order; a rerun of the day
finds them already present and adds nothing. Index 0 is reserved (unknown / padding). A range
numbers its new keys in (first day, first event time on that day, raw id) order: the ids its
days one by one would give.
"""

from __future__ import annotations

from datetime import date

from delta.exceptions import ConcurrentAppendException, ConcurrentTransactionException
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.delta_io import delta_table, latest_version, read_days
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


# Appending new ids is a compare-and-set: Delta skips a write whose txnVersion is not above the
# last one recorded for this app id, and here txnVersion is the first new id. A run that read
# the table before another run's ids landed numbers from the same (or a lower) first id, so its
# write is skipped and it numbers again; two runs committing at the same moment conflict on the
# app id inside Delta. A MERGE could not give this: it joins on the key only, so ids numbered
# from a stale maximum would go in beside the other run's.
ID_WRITER = "interest.ids"
ATTEMPTS = 5
RACES = (ConcurrentAppendException, ConcurrentTransactionException)


def allocate_ids(
    spark: SparkSession, settings: Settings, table: str, seen: DataFrame, key: str, idx: str
) -> None:
    """Gives each key of ``seen`` (key, first_ds, first_ts) missing from ``table`` the next
    id, safely against any number of runs doing the same at once."""
    for _ in range(ATTEMPTS):
        rows = new_ids(seen, snapshot(spark, settings, table), key, idx).localCheckpoint()
        if rows.isEmpty() or append_new_ids(spark, settings, table, rows, key, idx):
            return
    raise RuntimeError(
        f"{table}: other runs kept giving ids at the same time ({ATTEMPTS} tries); rerun"
    )


def append_new_ids(
    spark: SparkSession, settings: Settings, table: str, rows: DataFrame, key: str, idx: str
) -> bool:
    """Appends ``rows`` unless ids were given since the snapshot they were numbered from;
    returns whether they went in."""
    first = rows.agg(F.min(idx)).first()[0]
    writer = rows.write.format("delta").mode("append").option("txnAppId", ID_WRITER)
    try:
        writer.option("txnVersion", first).save(settings.table_path(table).as_posix())
    except RACES:
        return False
    return landed(spark, settings, table, rows, key, idx)


def snapshot(spark: SparkSession, settings: Settings, table: str) -> DataFrame:
    """The table at its latest version, pinned: every read of it sees that one version."""
    version = latest_version(spark, settings, table)
    path = settings.table_path(table).as_posix()
    return spark.read.format("delta").option("versionAsOf", version).load(path)


def landed(
    spark: SparkSession, settings: Settings, table: str, rows: DataFrame, key: str, idx: str
) -> bool:
    """Whether every (key, id) of ``rows`` is in the table (Delta skips a stale write)."""
    found = delta_table(spark, table, settings).toDF().join(F.broadcast(rows), [key, idx], "semi")
    return found.count() == rows.count()


def run_range(spark: SparkSession, settings: Settings, days: list[date]) -> dict[date, dict]:
    events = read_days(spark, BRONZE_EVENTS, days)
    counts: dict[date, dict[str, int]] = {d: {} for d in days}
    for table, key, idx in (
        (SILVER_USER_IDS, "user_id", "user_idx"),
        (SILVER_ITEM_IDS, "item_id", "item_idx"),
    ):
        allocate_ids(spark, settings, table, first_seen(events, key), key, idx)
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
